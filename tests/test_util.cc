#include "tests/test_util.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/fs.h"
#include "common/mount.h"

namespace strata::testing {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/strata-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  for (const std::string& m : MountPointsUnder(path_)) ::umount2(m.c_str(), MNT_DETACH);
  absl::Status s = RemoveTree(path_);
  if (!s.ok()) std::fprintf(stderr, "TempDir cleanup: %s\n", s.ToString().c_str());
}

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) {
    ADD_FAILURE() << "write " << path;
  }
}

std::string ReadFileOrDie(const std::string& path) {
  absl::StatusOr<std::string> s = ReadFile(path);
  if (!s.ok()) {
    ADD_FAILURE() << s.status();
    return "";
  }
  return *s;
}

bool Exists(const std::string& path) { return PathExists(path); }

std::string UpperDirOf(const std::vector<MountSpec>& mounts) {
  if (mounts.empty()) return "";
  const MountSpec& m = mounts[0];
  if (m.type == "bind") return m.source;
  for (const std::string& o : m.options) {
    if (o.rfind("upperdir=", 0) == 0) return o.substr(sizeof("upperdir=") - 1);
  }
  return "";
}

std::string BinaryDir() { return STRATA_BINARY_DIR; }

}  // namespace strata::testing
