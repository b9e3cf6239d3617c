#include "tests/test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/errno_status.h"
#include "common/fs.h"
#include "common/mount.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata::testing {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&out[i], &v, std::min<size_t>(8, n - i));
  }
  return out;
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

absl::Status MountTmpfs(const std::string& dir, uint64_t bytes) {
  STRATA_RETURN_IF_ERROR(MakeDirs(dir, 0755));
  std::string data = "size=" + std::to_string(bytes) + ",mode=0755";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, data.c_str()) != 0) {
    return ErrnoToStatus(errno, "mount tmpfs at " + dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FillFileSystem(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoToStatus(errno, "open " + path);
  const std::string chunk(1 << 16, 'f');
  uint64_t total = 0;
  size_t step = chunk.size();
  // Shrink the write size at the end so the last few blocks are taken too.
  while (step > 0) {
    ssize_t n = ::write(fd.get(), chunk.data(), step);
    if (n > 0) {
      total += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno != ENOSPC) return ErrnoToStatus(errno, "write " + path);
    step /= 2;
  }
  return total;
}

absl::Status MakeReadOnly(const std::string& dir) {
  if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoToStatus(errno, "bind " + dir);
  }
  if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    absl::Status s = ErrnoToStatus(errno, "remount read-only " + dir);
    ::umount2(dir.c_str(), MNT_DETACH);
    return s;
  }
  return absl::OkStatus();
}

std::string BinaryDir() { return STRATA_BINARY_DIR; }

}  // namespace strata::testing
