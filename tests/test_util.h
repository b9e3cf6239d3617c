// Shared test helpers: status assertions, temp directories that clean up their
// mounts, and small file helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/mount.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace strata::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// Each evaluates `expr` once (it may be a call with side effects).
#define ASSERT_OK(expr) ASSERT_THAT(expr, ::strata::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::strata::testing::IsOk())
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(STRATA_TEST_CONCAT(statusor_, __LINE__), lhs, expr)
#define STRATA_TEST_CONCAT_INNER(a, b) a##b
#define STRATA_TEST_CONCAT(a, b) STRATA_TEST_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.status();          \
  lhs = std::move(tmp).value()

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::strata::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = ::strata::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

// A fresh directory under $TMPDIR (or /tmp); on destruction everything mounted
// below it is unmounted and the tree removed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An integer from the environment (a test's size or seed), or `fallback`.
int EnvInt(const char* name, int fallback);

// `n` pseudo-random bytes from `seed`: incompressible data of a known size.
std::string RandomBytes(size_t n, uint64_t seed);

// Whole-file helpers that fail the test on error.
void WriteFileOrDie(const std::string& path, const std::string& contents);
std::string ReadFileOrDie(const std::string& path);
bool Exists(const std::string& path);

// The directory a snapshot's changes land in: the source of a bind mount, or
// the upperdir of an overlay mount ("" for a read-only overlay).
std::string UpperDirOf(const std::vector<MountSpec>& mounts);

// Fault injection on real file systems (root only).
// Mounts a tmpfs of `bytes` at `dir` (created if needed); TempDir unmounts it.
absl::Status MountTmpfs(const std::string& dir, uint64_t bytes);
// Writes a file at `path` until the file system refuses more (ENOSPC): the
// disk is then full for everyone. Returns the bytes written.
absl::StatusOr<uint64_t> FillFileSystem(const std::string& path);
// Stacks a read-only bind mount of `dir` over itself: new opens for writing,
// creates and removals below it fail with EROFS while descriptors opened
// before keep working, as when a file system turns read-only under a running
// process. Undo with Unmount(dir).
absl::Status MakeReadOnly(const std::string& dir);

// Directory of the build's binaries (set by CMake).
std::string BinaryDir();

}  // namespace strata::testing
