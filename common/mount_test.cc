#include "common/mount.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "tests/test_util.h"

namespace strata {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::ReadFileOrDie;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;

TEST(MountTest, ReadOnlyBindRefusesWrites) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("src")));
  ASSERT_OK(MakeDirs(t.Sub("mnt")));
  WriteFileOrDie(t.Sub("src/f"), "data");
  ASSERT_OK(MountAll({{"bind", t.Sub("src"), "", {"ro", "rbind"}}}, t.Sub("mnt")));
  EXPECT_EQ(ReadFileOrDie(t.Sub("mnt/f")), "data");
  int fd = ::open(t.Sub("mnt/new").c_str(), O_CREAT | O_WRONLY, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_OK(Unmount(t.Sub("mnt")));
}

// 300 lower layers with long absolute paths overflow one page of options; the
// mount must still work (relative lowerdirs from a child process) and the
// test process's working directory must not move.
TEST(MountTest, LongLowerdirListIsShortened) {
  TempDir t;
  std::string base = t.Sub("a-rather-long-directory-name-for-layers");
  std::string lower = "lowerdir=";
  for (int i = 0; i < 300; ++i) {
    std::string dir = absl::StrCat(base, "/", i, "/f");
    ASSERT_OK(MakeDirs(dir));
    WriteFileOrDie(absl::StrCat(dir, "/file-", i), absl::StrCat(i));
    absl::StrAppend(&lower, i ? ":" : "", dir);
  }
  ASSERT_GT(lower.size(), 4096u);
  ASSERT_OK(MakeDirs(t.Sub("mnt")));
  char before[4096];
  ASSERT_NE(::getcwd(before, sizeof(before)), nullptr);
  ASSERT_OK(MountAll({{"overlay", "overlay", "", {"index=off", lower}}}, t.Sub("mnt")));
  char after[4096];
  ASSERT_NE(::getcwd(after, sizeof(after)), nullptr);
  EXPECT_STREQ(before, after);
  EXPECT_EQ(ReadFileOrDie(t.Sub("mnt/file-0")), "0");
  EXPECT_EQ(ReadFileOrDie(t.Sub("mnt/file-299")), "299");
  ASSERT_OK(Unmount(t.Sub("mnt")));
}

TEST(MountTest, MountDataDropsFlags) {
  EXPECT_EQ(MountData({"ro", "rbind", "index=off", "lowerdir=/a"}), "index=off,lowerdir=/a");
}

TEST(MountTest, MountPointsUnderFindsNestedDeepestFirst) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("src")));
  ASSERT_OK(MakeDirs(t.Sub("m1")));
  ASSERT_OK(MountAll({{"bind", t.Sub("src"), "", {"rw", "rbind"}}}, t.Sub("m1")));
  ASSERT_OK(MakeDirs(t.Sub("m1/inner")));
  ASSERT_OK(MountAll({{"bind", t.Sub("src"), "", {"rw", "rbind"}}}, t.Sub("m1/inner")));
  std::vector<std::string> found = MountPointsUnder(t.path());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], t.Sub("m1/inner"));
  ASSERT_OK(Unmount(found[0]));
  ASSERT_OK(Unmount(found[1]));
}

}  // namespace
}  // namespace strata
