// A container's changes, made through a real overlay mount, committed into a
// new image whose mounted view equals what was committed.
#include "layerstore/committer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "layerstore/importer.h"
#include "tests/store_test.h"
#include "tests/test_util.h"
#include "tests/tree_expect.h"

namespace strata::layerstore {
namespace {

using ::strata::testing::SharedImagesDir;
using ::strata::testing::StatusIs;
using ::strata::testing::WriteFileOrDie;
using Code = absl::StatusCode;
constexpr snapshotter::KeySpace kN = snapshotter::KeySpace::kNative;

class CommitterTest : public ::strata::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    UniqueFd fd(::open((SharedImagesDir() + "/prebuilt/busybox.oci.tar").c_str(), O_RDONLY));
    FdSource src(fd.get());
    ASSERT_OK(importer_->Import(&src, {}).status());
    ASSERT_OK_AND_ASSIGN(auto img, images_->Resolve(kBusybox));
    top_ = img.top_chain().str();
  }

  std::string Mount(const std::vector<MountSpec>& m, const std::string& name) {
    std::string dir = tmp_.Sub(name);
    EXPECT_OK(MakeDirs(dir));
    EXPECT_OK(MountAll(m, dir));
    return dir;
  }

  static constexpr char kBusybox[] = "docker.io/library/busybox:latest";
  std::string top_;
};

TEST_F(CommitterTest, EveryKindOfChangeSurvivesCommit) {
  ASSERT_OK_AND_ASSIGN(auto mounts, snapshots_->Prepare(kN, "work", top_, {}));
  std::string r = Mount(mounts, "work");
  WriteFileOrDie(r + "/added.txt", "added");            // add
  WriteFileOrDie(r + "/etc/hostname", "changed\n");     // modify
  ASSERT_EQ(::unlink((r + "/etc/shadow").c_str()), 0);  // delete file
  ASSERT_OK(RemoveTree(r + "/var/spool"));              // delete directory
  ASSERT_OK(RemoveTree(r + "/home"));                   // directory -> file
  WriteFileOrDie(r + "/home", "now a file");
  ASSERT_EQ(::unlink((r + "/etc/group").c_str()), 0);  // file -> directory
  ASSERT_EQ(::mkdir((r + "/etc/group").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((r + "/etc/passwd").c_str(), 0600), 0);                       // chmod
  ASSERT_EQ(::chown((r + "/etc/hostname").c_str(), 1000, 1000), 0);               // chown
  ASSERT_EQ(::link((r + "/added.txt").c_str(), (r + "/added-link").c_str()), 0);  // hard link
  ASSERT_EQ(::symlink("added.txt", (r + "/added-sym").c_str()), 0);               // symlink
  ASSERT_EQ(::setxattr((r + "/added.txt").c_str(), "user.note", "x", 1, 0), 0);   // xattr
  ASSERT_OK(RemoveTree(r + "/root"));  // opaque: dir replaced
  ASSERT_EQ(::mkdir((r + "/root").c_str(), 0700), 0);
  WriteFileOrDie(r + "/root/.profile", "new");
  std::map<std::string, std::string> before;
  before = ::strata::testing::DescribeTree(r);
  ASSERT_OK(Unmount(r));

  ASSERT_OK_AND_ASSIGN(ImageInfo img,
                       committer_->CommitImage(kBusybox, "work", "mine:1", Compression::kGzip));
  ASSERT_OK_AND_ASSIGN(ResolvedImage resolved, images_->Resolve("mine:1"));
  EXPECT_EQ(resolved.manifest.layers.size(), 2u);
  EXPECT_EQ(resolved.chain_ids.size(), 2u);
  EXPECT_THAT(snapshots_->Stat(kN, "work"), StatusIs(Code::kNotFound));  // committed away
  ASSERT_OK_AND_ASSIGN(auto view, snapshots_->View(kN, "check", resolved.top_chain().str(), {}));
  std::string v = Mount(view, "check");
  std::map<std::string, std::string> after;
  after = ::strata::testing::DescribeTree(v);
  EXPECT_EQ(before, after);
  EXPECT_FALSE(::strata::testing::Exists(v + "/etc/shadow"));
  struct stat a, b;
  ASSERT_EQ(::lstat((v + "/added.txt").c_str(), &a), 0);
  ASSERT_EQ(::lstat((v + "/added-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  ASSERT_OK(Unmount(v));
}

TEST_F(CommitterTest, BadInputLeavesTheSnapshotAlone) {
  ASSERT_OK(snapshots_->View(kN, "a-view", top_, {}).status());
  EXPECT_THAT(committer_->CommitImage(kBusybox, "a-view", "x:1", Compression::kGzip),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(committer_->CommitImage(kBusybox, top_, "x:1", Compression::kGzip),
              StatusIs(Code::kFailedPrecondition));  // a committed snapshot
  EXPECT_THAT(committer_->CommitImage(kBusybox, "missing", "x:1", Compression::kGzip),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(ParseCompression("rar"), StatusIs(Code::kInvalidArgument));
  ASSERT_OK(snapshots_->Prepare(kN, "orphan", "", {}).status());
  EXPECT_THAT(committer_->CommitImage(kBusybox, "orphan", "x:1", Compression::kGzip),
              StatusIs(Code::kFailedPrecondition));  // not above busybox
  ASSERT_OK_AND_ASSIGN(snapshotter::Info still, snapshots_->Stat(kN, "orphan"));
  EXPECT_EQ(still.kind, snapshotter::Kind::kActive);
  EXPECT_THAT(images_->Get("x:1"), StatusIs(Code::kNotFound));
}

TEST_F(CommitterTest, SameChangeTwiceGivesTheSameLayer) {
  for (const char* key : {"one", "two"}) {
    ASSERT_OK_AND_ASSIGN(auto mounts, snapshots_->Prepare(kN, key, top_, {}));
    // Write straight into the upper dir with fixed times: identical changes.
    std::string upper = ::strata::testing::UpperDirOf(mounts);
    WriteFileOrDie(upper + "/same.txt", "same");
    struct timespec t[2] = {{1700000000, 0}, {1700000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (upper + "/same.txt").c_str(), t, 0), 0);
    ASSERT_EQ(::utimensat(AT_FDCWD, upper.c_str(), t, 0), 0);
  }
  ASSERT_OK_AND_ASSIGN(CommittedLayer a, committer_->CommitLayer(kN, "one", Compression::kGzip));
  ASSERT_OK_AND_ASSIGN(CommittedLayer b, committer_->CommitLayer(kN, "two", Compression::kGzip));
  EXPECT_EQ(a.chain_id, b.chain_id);
  EXPECT_EQ(a.diff.blob.digest, b.diff.blob.digest);
  ASSERT_OK_AND_ASSIGN(auto layer, snapshots_->GetLayer(a.chain_id.str()));
  EXPECT_EQ(layer.refs, 1);
}

}  // namespace
}  // namespace strata::layerstore
