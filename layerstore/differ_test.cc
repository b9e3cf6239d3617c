#include "layerstore/differ.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "layerstore/tar_extractor.h"
#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::ReadFileOrDie;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;
using ::testing::Contains;
using ::testing::Not;

class DifferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = meta::Db::Open({tmp_.Sub("meta")});
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto cs = ContentStore::Open(db_.get(), tmp_.Sub("root"));
    ASSERT_OK(cs);
    content_ = std::move(*cs);
    BuildUpper(tmp_.Sub("upper"));
  }

  // An upper dir as overlayfs leaves it: every kind of change.
  void BuildUpper(const std::string& u) {
    ASSERT_OK(MakeDirs(u + "/etc"));
    WriteFileOrDie(u + "/etc/app.conf", "v2\n");
    ASSERT_EQ(::chmod((u + "/etc/app.conf").c_str(), 0640), 0);
    ASSERT_EQ(::chown((u + "/etc/app.conf").c_str(), 1000, 42), 0);
    WriteFileOrDie(u + "/bin-su", "su");
    ASSERT_EQ(::chmod((u + "/bin-su").c_str(), 04755), 0);
    ASSERT_EQ(::link((u + "/etc/app.conf").c_str(), (u + "/hardlink").c_str()), 0);
    ASSERT_EQ(::symlink("../etc/app.conf", (u + "/link").c_str()), 0);
    ASSERT_EQ(::mknod((u + "/deleted").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);  // whiteout
    ASSERT_EQ(::mknod((u + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(::mkfifo((u + "/fifo").c_str(), 0600), 0);
    ASSERT_OK(MakeDirs(u + "/replaced"));
    ASSERT_EQ(::setxattr((u + "/replaced").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    WriteFileOrDie(u + "/replaced/only", "new");
    ASSERT_EQ(::setxattr((u + "/etc/app.conf").c_str(), "user.note", "hi", 2, 0), 0);
    ASSERT_EQ(::setxattr((u + "/etc").c_str(), "trusted.overlay.origin", "x", 1, 0), 0);
    struct timespec t[2] = {{1700000000, 123}, {1700000000, 123}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (u + "/etc/app.conf").c_str(), t, AT_SYMLINK_NOFOLLOW), 0);
  }

  std::vector<std::string> TarNames(const Digest& blob, Compression c) {
    std::vector<std::string> names;
    UniqueFd fd = *content_->OpenBlob(blob);
    FdSource file(fd.get());
    auto dec = NewDecompressor(c, &file);
    std::string tar;
    char buf[65536];
    while (true) {
      auto n = (*dec)->Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) break;
      tar.append(buf, *n);
    }
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data(), tar.size());
    struct archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK)
      names.emplace_back(archive_entry_pathname(e));
    archive_read_free(a);
    return names;
  }

  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<ContentStore> content_;
};

TEST_F(DifferTest, OverlayFormBecomesOciForm) {
  ASSERT_OK_AND_ASSIGN(DiffResult r,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kGzip, content_.get(), "d1"));
  EXPECT_EQ(r.blob.media_type, media_type::kOciLayerGzip);
  std::vector<std::string> names = TarNames(r.blob.digest, Compression::kGzip);
  EXPECT_THAT(names, Contains(".wh.deleted"));
  EXPECT_THAT(names, Contains("replaced/.wh..wh..opq"));
  EXPECT_THAT(names, Not(Contains("deleted")));
  ASSERT_OK_AND_ASSIGN(BlobInfo info, content_->Info(r.blob.digest));
  EXPECT_EQ(info.size, r.blob.size);
}

TEST_F(DifferTest, SameDirectoryGivesSameDigests) {
  ASSERT_OK_AND_ASSIGN(DiffResult a,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kGzip, content_.get(), "a"));
  ASSERT_OK_AND_ASSIGN(DiffResult b,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kGzip, content_.get(), "b"));
  EXPECT_EQ(a.blob.digest, b.blob.digest);
  EXPECT_EQ(a.diff_id, b.diff_id);
  ASSERT_OK_AND_ASSIGN(DiffResult z,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kZstd, content_.get(), "z"));
  EXPECT_EQ(z.diff_id, a.diff_id);  // same tar, other compression
  EXPECT_NE(z.blob.digest, a.blob.digest);
  ASSERT_OK_AND_ASSIGN(DiffResult n,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kNone, content_.get(), "n"));
  EXPECT_EQ(n.blob.digest, n.diff_id);
  EXPECT_EQ(n.diff_id, a.diff_id);
}

// Unpacking the diff gives back the upper dir: the two conversions are inverses.
TEST_F(DifferTest, RoundTripsThroughTheExtractor) {
  ASSERT_OK_AND_ASSIGN(DiffResult r,
                       DiffUpperDir(tmp_.Sub("upper"), Compression::kZstd, content_.get(), "rt"));
  ASSERT_OK(MakeDirs(tmp_.Sub("back")));
  UniqueFd fd = *content_->OpenBlob(r.blob.digest);
  FdSource file(fd.get());
  auto dec = NewDecompressor(Compression::kZstd, &file);
  HashingSource tar((*dec).get());
  ASSERT_OK(ExtractLayer(&tar, tmp_.Sub("back"), {}).status());
  ASSERT_OK(Drain(&tar));
  EXPECT_EQ(tar.Finish(), r.diff_id);
  std::string b = tmp_.Sub("back");
  struct stat st;
  ASSERT_EQ(::lstat((b + "/deleted").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0);
  char v[8];
  EXPECT_EQ(::lgetxattr((b + "/replaced").c_str(), "trusted.overlay.opaque", v, sizeof(v)), 1);
  EXPECT_EQ(::lgetxattr((b + "/etc").c_str(), "trusted.overlay.origin", v, sizeof(v)), -1);
  EXPECT_EQ(::lgetxattr((b + "/etc/app.conf").c_str(), "user.note", v, sizeof(v)), 2);
  ASSERT_EQ(::lstat((b + "/etc/app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 42u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123);
  struct stat hl;
  ASSERT_EQ(::lstat((b + "/hardlink").c_str(), &hl), 0);
  EXPECT_EQ(hl.st_ino, st.st_ino);
  ASSERT_EQ(::lstat((b + "/bin-su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((b + "/null").c_str(), &st), 0);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  ASSERT_EQ(::lstat((b + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  char target[64] = {};
  ASSERT_GT(::readlink((b + "/link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "../etc/app.conf");
  EXPECT_EQ(ReadFileOrDie(b + "/replaced/only"), "new");
}

}  // namespace
}  // namespace strata::layerstore
