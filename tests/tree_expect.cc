#include "tests/tree_expect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/unique_fd.h"
#include "layerstore/byte_source.h"

namespace strata::testing {
namespace {

using json = nlohmann::json;

std::string TypeOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  if (S_ISCHR(m)) return "char";
  if (S_ISBLK(m)) return "block";
  if (S_ISFIFO(m)) return "fifo";
  return "other";
}

std::string Octal(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", v);
  return buf;
}

std::string FileSha256(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "<unreadable>";
  layerstore::FdSource file(fd.get());
  layerstore::HashingSource hashed(&file);
  if (!layerstore::Drain(&hashed).ok()) return "<unreadable>";
  return hashed.Finish().hex();
}

std::string PathOf(const std::string& key) {
  if (!absl::StartsWith(key, "b64:")) return key;
  std::string raw;
  absl::Base64Unescape(key.substr(4), &raw);
  return raw;
}

void CompareXattrs(const std::string& path, const json& want, const std::string& key,
                   std::vector<std::string>& diffs) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    std::string expected;
    absl::Base64Unescape(it.value().get<std::string>(), &expected);
    char buf[4096];
    ssize_t n = ::lgetxattr(path.c_str(), it.key().c_str(), buf, sizeof(buf));
    if (n < 0 || std::string(buf, static_cast<size_t>(n)) != expected) {
      diffs.push_back(absl::StrCat(key, ": xattr ", it.key(), " differs"));
    }
  }
}

}  // namespace

namespace {

void Describe(const std::string& root, const std::string& rel,
              std::map<std::string, std::string>& out) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(root + rel);
  if (!names.ok()) return;
  for (const std::string& n : *names) {
    std::string path = rel + "/" + n;
    struct stat st;
    if (::lstat((root + path).c_str(), &st) != 0) continue;
    std::string d = absl::StrCat(TypeOf(st.st_mode), " ", Octal(st.st_mode & 07777), " ", st.st_uid,
                                 ":", st.st_gid);
    if (S_ISREG(st.st_mode)) absl::StrAppend(&d, " ", FileSha256(root + path));
    if (S_ISLNK(st.st_mode)) {
      char t[4096];
      ssize_t k = ::readlink((root + path).c_str(), t, sizeof(t));
      absl::StrAppend(&d, " -> ", std::string(t, static_cast<size_t>(std::max<ssize_t>(k, 0))));
    }
    char x[64];
    ssize_t xn = ::lgetxattr((root + path).c_str(), "user.note", x, sizeof(x));
    if (xn > 0) absl::StrAppend(&d, " xattr=", std::string(x, static_cast<size_t>(xn)));
    out[path] = d;
    if (S_ISDIR(st.st_mode)) Describe(root, path, out);
  }
}

}  // namespace

std::map<std::string, std::string> DescribeTree(const std::string& root) {
  std::map<std::string, std::string> out;
  Describe(root, "", out);
  return out;
}

std::string SharedImagesDir() {
  const char* env = std::getenv("STRATA_SHARED_IMAGES");
  return env ? env : std::string(STRATA_SOURCE_DIR) + "/../shared/images";
}

std::vector<std::string> CompareTreeWithExpectation(const std::string& root,
                                                    const std::string& expected_json) {
  std::vector<std::string> diffs;
  absl::StatusOr<std::string> text = ReadFile(expected_json);
  if (!text.ok()) return {"cannot read " + expected_json};
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return {"malformed " + expected_json};
  for (auto it = j["entries"].begin(); it != j["entries"].end(); ++it) {
    const std::string& key = it.key();
    const json& want = it.value();
    std::string path = root + PathOf(key);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      diffs.push_back(key + ": missing");
      continue;
    }
    std::string type = TypeOf(st.st_mode);
    if (type != want["type"]) {
      diffs.push_back(
          absl::StrCat(key, ": type ", type, ", expected ", want["type"].get<std::string>()));
      continue;
    }
    auto check = [&](const char* field, const std::string& got, const std::string& expected) {
      if (got != expected)
        diffs.push_back(absl::StrCat(key, ": ", field, " ", got, ", expected ", expected));
    };
    if (type != "symlink")
      check("mode", Octal(st.st_mode & 07777), want["mode"].get<std::string>());
    check("uid", std::to_string(st.st_uid), std::to_string(want["uid"].get<int64_t>()));
    check("gid", std::to_string(st.st_gid), std::to_string(want["gid"].get<int64_t>()));
    if (want.contains("mtime")) {
      check("mtime", std::to_string(st.st_mtime), std::to_string(want["mtime"].get<int64_t>()));
    }
    if (type == "file") {
      check("size", std::to_string(st.st_size), std::to_string(want["size"].get<int64_t>()));
      if (want.contains("sha256"))
        check("sha256", FileSha256(path), want["sha256"].get<std::string>());
    }
    if (type == "symlink") {
      char buf[4096];
      ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
      check("target", n < 0 ? "<unreadable>" : std::string(buf, static_cast<size_t>(n)),
            want["target"].get<std::string>());
    }
    if (type == "char" || type == "block") {
      check("major", std::to_string(major(st.st_rdev)),
            std::to_string(want["major"].get<int64_t>()));
      check("minor", std::to_string(minor(st.st_rdev)),
            std::to_string(want["minor"].get<int64_t>()));
    }
    if (want.contains("xattrs")) CompareXattrs(path, want["xattrs"], key, diffs);
  }
  for (const json& a : j["absent"]) {
    std::string key = a.get<std::string>();
    if (PathExists(root + PathOf(key))) diffs.push_back(key + ": present, expected absent");
  }
  for (const json& group : j["hardlink_groups"]) {
    struct stat first {};
    bool have_first = false;
    for (const json& p : group) {
      struct stat st;
      std::string key = p.get<std::string>();
      if (::lstat((root + PathOf(key)).c_str(), &st) != 0) continue;
      if (!have_first) {
        first = st;
        have_first = true;
      } else if (st.st_ino != first.st_ino || st.st_dev != first.st_dev) {
        diffs.push_back(key + ": not hard-linked to the rest of its group");
      }
    }
  }
  return diffs;
}

}  // namespace strata::testing
