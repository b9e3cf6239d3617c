// Shared test helpers: status assertions, temp directories that clean up their
// mounts, and small file helpers.
#pragma once

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

#define ASSERT_OK(expr) \
  ASSERT_TRUE(::strata::testing::GetStatus(expr).ok()) << ::strata::testing::GetStatus(expr)
#define EXPECT_OK(expr) \
  EXPECT_TRUE(::strata::testing::GetStatus(expr).ok()) << ::strata::testing::GetStatus(expr)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(STRATA_TEST_CONCAT(statusor_, __LINE__), lhs, expr)
#define STRATA_TEST_CONCAT_INNER(a, b) a##b
#define STRATA_TEST_CONCAT(a, b) STRATA_TEST_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.status();          \
  lhs = std::move(tmp).value()

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

// Whole-file helpers that fail the test on error.
void WriteFileOrDie(const std::string& path, const std::string& contents);
std::string ReadFileOrDie(const std::string& path);
bool Exists(const std::string& path);

// The directory a snapshot's changes land in: the source of a bind mount, or
// the upperdir of an overlay mount ("" for a read-only overlay).
std::string UpperDirOf(const std::vector<MountSpec>& mounts);

// Directory of the build's binaries (set by CMake).
std::string BinaryDir();

}  // namespace strata::testing
