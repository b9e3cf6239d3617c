#include "common/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "tests/test_util.h"

namespace strata {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;

TEST(FsTest, MakeDirsCreatesParentsAndAcceptsExisting) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("a/b/c")));
  EXPECT_TRUE(Exists(t.Sub("a/b/c")));
  EXPECT_OK(MakeDirs(t.Sub("a/b/c")));
  WriteFileOrDie(t.Sub("file"), "x");
  EXPECT_FALSE(MakeDirs(t.Sub("file")).ok());
}

TEST(FsTest, RemoveTreeDoesNotFollowSymlinks) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("outside")));
  WriteFileOrDie(t.Sub("outside/keep"), "keep");
  ASSERT_OK(MakeDirs(t.Sub("tree/sub/ro")));
  WriteFileOrDie(t.Sub("tree/sub/ro/f"), "x");
  ASSERT_EQ(::chmod(t.Sub("tree/sub/ro").c_str(), 0), 0);
  ASSERT_EQ(::symlink(t.Sub("outside").c_str(), t.Sub("tree/link").c_str()), 0);
  ASSERT_OK(RemoveTree(t.Sub("tree")));
  EXPECT_FALSE(Exists(t.Sub("tree")));
  EXPECT_TRUE(Exists(t.Sub("outside/keep")));
  EXPECT_OK(RemoveTree(t.Sub("tree")));  // missing is fine
}

// Two removers of one tree (Cleanup and the background reaper can race) both succeed.
TEST(FsTest, ConcurrentRemoveTreeOfOneTreeSucceeds) {
  TempDir t;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      ASSERT_OK(MakeDirs(t.Sub("tree/d" + std::to_string(i) + "/sub")));
      WriteFileOrDie(t.Sub("tree/d" + std::to_string(i) + "/sub/f"), "x");
    }
    absl::Status a, b;
    std::thread ta([&] { a = RemoveTree(t.Sub("tree")); });
    std::thread tb([&] { b = RemoveTree(t.Sub("tree")); });
    ta.join();
    tb.join();
    EXPECT_OK(a);
    EXPECT_OK(b);
    EXPECT_FALSE(Exists(t.Sub("tree")));
  }
}

TEST(FsTest, DiskUsageCountsHardLinkedInodeOnce) {
  TempDir t;
  ASSERT_OK(MakeDirs(t.Sub("d")));
  WriteFileOrDie(t.Sub("d/a"), std::string(10000, 'x'));
  ASSERT_EQ(::link(t.Sub("d/a").c_str(), t.Sub("d/b").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(DiskUsage du, MeasureDiskUsage(t.Sub("d")));
  EXPECT_EQ(du.inodes, 2);  // the directory and one file
  struct stat st;
  ASSERT_EQ(::stat(t.Sub("d/a").c_str(), &st), 0);
  EXPECT_GE(du.bytes, st.st_blocks * 512);
}

TEST(FsTest, WriteFileDurablyReplaces) {
  TempDir t;
  ASSERT_OK(WriteFileDurably(t.Sub("f"), "one"));
  ASSERT_OK(WriteFileDurably(t.Sub("f"), "two"));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(t.Sub("f")));
  EXPECT_EQ(got, "two");
  EXPECT_FALSE(Exists(t.Sub("f.tmp")));
}

}  // namespace
}  // namespace strata
