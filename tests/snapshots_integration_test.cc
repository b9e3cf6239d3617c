// Integration tests: a real stratad over gRPC, the mounts it returns mounted
// with the real kernel overlayfs, files written and read through them.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/mount.h"
#include "tests/snapshots_client.h"
#include "tests/stratad_process.h"
#include "tests/test_util.h"

namespace strata::testing {
namespace {

using Code = absl::StatusCode;
using ::testing::UnorderedElementsAre;

class SnapshotsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { StartDaemon(); }
  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) EXPECT_OK(Unmount(*it));
  }

  void StartDaemon() {
    auto p = StratadProcess::Start(tmp_.Sub("root"), tmp_.Sub("run/strata.sock"));
    ASSERT_OK(p);
    daemon_ = std::move(*p);
    client_ = std::make_unique<SnapshotsClient>(daemon_->channel());
  }

  std::string MountNew(const std::vector<MountSpec>& mounts) {
    std::string dir = tmp_.Sub(absl::StrCat("mnt", next_mount_++));
    EXPECT_OK(MakeDirs(dir));
    absl::Status s = MountAll(mounts, dir);
    EXPECT_OK(s);
    if (s.ok()) mounted_.push_back(dir);
    return dir;
  }

  void UnmountLast() {
    ASSERT_OK(Unmount(mounted_.back()));
    mounted_.pop_back();
  }

  // Prepares `name`-work above `parent`, mounts it, lets `change` edit the
  // mounted root, unmounts and commits it as `name`.
  void CommitLayer(const std::string& name, const std::string& parent,
                   const std::function<void(const std::string&)>& change) {
    auto mounts = client_->Prepare(name + "-work", parent);
    ASSERT_OK(mounts);
    std::string root = MountNew(*mounts);
    change(root);
    UnmountLast();
    ASSERT_OK(client_->Commit(name, name + "-work"));
  }

  // Mounts a read-only view of `parent`; returns where.
  std::string ViewOf(const std::string& parent) {
    auto mounts = client_->View(absl::StrCat("view-", next_mount_), parent);
    EXPECT_OK(mounts);
    return mounts.ok() ? MountNew(*mounts) : "";
  }

  static void Mkdir(const std::string& path, mode_t mode = 0755) {
    ASSERT_EQ(::mkdir(path.c_str(), mode), 0) << path;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;  // umask-proof
  }

  static struct stat Lstat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  TempDir tmp_;
  std::unique_ptr<StratadProcess> daemon_;
  std::unique_ptr<SnapshotsClient> client_;
  std::vector<std::string> mounted_;
  int next_mount_ = 0;
};

TEST_F(SnapshotsIntegrationTest, FileUpdatedInChild) {
  CommitLayer("base", "", [](const std::string& r) {
    Mkdir(r + "/etc");
    WriteFileOrDie(r + "/etc/app.conf", "v1");
  });
  CommitLayer("update", "base", [](const std::string& r) {
    EXPECT_EQ(ReadFileOrDie(r + "/etc/app.conf"), "v1");
    WriteFileOrDie(r + "/etc/app.conf", "v2");
  });
  EXPECT_EQ(ReadFileOrDie(ViewOf("update") + "/etc/app.conf"), "v2");
  EXPECT_EQ(ReadFileOrDie(ViewOf("base") + "/etc/app.conf"), "v1");
}

TEST_F(SnapshotsIntegrationTest, FileAndDirectoryDeletedInChild) {
  CommitLayer("base", "", [](const std::string& r) {
    Mkdir(r + "/a");
    WriteFileOrDie(r + "/a/file", "x");
    WriteFileOrDie(r + "/a/keep", "k");
    Mkdir(r + "/dir");
    Mkdir(r + "/dir/sub");
    WriteFileOrDie(r + "/dir/sub/deep", "d");
  });
  CommitLayer("delete", "base", [](const std::string& r) {
    ASSERT_EQ(::unlink((r + "/a/file").c_str()), 0);
    ASSERT_OK(RemoveTree(r + "/dir"));
  });
  // A third layer above the deletions must not resurrect anything.
  CommitLayer("above", "delete", [](const std::string& r) { WriteFileOrDie(r + "/new", "n"); });
  std::string v = ViewOf("above");
  EXPECT_FALSE(Exists(v + "/a/file"));
  EXPECT_TRUE(Exists(v + "/a/keep"));
  EXPECT_FALSE(Exists(v + "/dir"));
  EXPECT_EQ(ReadFileOrDie(v + "/new"), "n");
  std::string b = ViewOf("base");
  EXPECT_TRUE(Exists(b + "/a/file"));
  EXPECT_TRUE(Exists(b + "/dir/sub/deep"));
}

TEST_F(SnapshotsIntegrationTest, DirectoryRemovedInLowerLayerThenRecreated) {
  CommitLayer("l1", "", [](const std::string& r) {
    Mkdir(r + "/d");
    WriteFileOrDie(r + "/d/old", "old");
  });
  CommitLayer("l2", "l1", [](const std::string& r) { ASSERT_OK(RemoveTree(r + "/d")); });
  CommitLayer("l3", "l2", [](const std::string& r) {
    EXPECT_FALSE(Exists(r + "/d"));
    Mkdir(r + "/d");
    WriteFileOrDie(r + "/d/new", "new");
  });
  std::string v = ViewOf("l3");
  ASSERT_OK_AND_ASSIGN(auto names, ListDir(v + "/d"));
  EXPECT_THAT(names, UnorderedElementsAre("new"));
}

TEST_F(SnapshotsIntegrationTest, RenameOfLowerFile) {
  CommitLayer("base", "", [](const std::string& r) { WriteFileOrDie(r + "/before", "content"); });
  CommitLayer("renamed", "base", [](const std::string& r) {
    ASSERT_EQ(::rename((r + "/before").c_str(), (r + "/after").c_str()), 0);
  });
  std::string v = ViewOf("renamed");
  EXPECT_FALSE(Exists(v + "/before"));
  EXPECT_EQ(ReadFileOrDie(v + "/after"), "content");
}

TEST_F(SnapshotsIntegrationTest, ChownInChild) {
  CommitLayer("base", "", [](const std::string& r) { WriteFileOrDie(r + "/owned", "data"); });
  CommitLayer("chowned", "base", [](const std::string& r) {
    ASSERT_EQ(::chown((r + "/owned").c_str(), 1000, 2000), 0);
  });
  std::string v = ViewOf("chowned");
  struct stat st = Lstat(v + "/owned");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
  EXPECT_EQ(ReadFileOrDie(v + "/owned"), "data");
  EXPECT_EQ(Lstat(ViewOf("base") + "/owned").st_uid, 0u);
}

TEST_F(SnapshotsIntegrationTest, DirectoryPermissionsKeptAcrossCommit) {
  CommitLayer("base", "", [](const std::string& r) {
    Mkdir(r + "/private", 0700);
    Mkdir(r + "/sticky", 01777);
    Mkdir(r + "/setgid", 02775);
    ASSERT_EQ(::chmod(r.c_str(), 0751), 0);
  });
  CommitLayer("child", "base", [](const std::string& r) { WriteFileOrDie(r + "/x", "x"); });
  for (const char* layer : {"base", "child"}) {
    std::string v = ViewOf(layer);
    EXPECT_EQ(Lstat(v + "/private").st_mode & 07777, 0700u) << layer;
    EXPECT_EQ(Lstat(v + "/sticky").st_mode & 07777, 01777u) << layer;
    EXPECT_EQ(Lstat(v + "/setgid").st_mode & 07777, 02775u) << layer;
    EXPECT_EQ(Lstat(v).st_mode & 07777, 0751u) << layer;
  }
}

TEST_F(SnapshotsIntegrationTest, ViewsAreReadOnly) {
  CommitLayer("l1", "", [](const std::string& r) { WriteFileOrDie(r + "/f", "1"); });
  CommitLayer("l2", "l1", [](const std::string& r) { WriteFileOrDie(r + "/g", "2"); });
  for (const char* layer : {"l1", "l2"}) {  // bind view and overlay view
    std::string v = ViewOf(layer);
    int fd = ::open((v + "/new").c_str(), O_CREAT | O_WRONLY, 0644);
    EXPECT_LT(fd, 0) << layer;
    EXPECT_EQ(errno, EROFS) << layer;
    EXPECT_NE(::unlink((v + "/f").c_str()), 0) << layer;
  }
}

TEST_F(SnapshotsIntegrationTest, ErrorsCarryContainerdCodesOnTheWire) {
  CommitLayer("base", "", [](const std::string&) {});
  ASSERT_OK(client_->Prepare("active", "base").status());
  ASSERT_OK(client_->View("view", "base").status());
  EXPECT_THAT(client_->Prepare("", ""), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(client_->Prepare("x", "missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->Prepare("active", "base"), StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(client_->Prepare("x", "active"), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(client_->Commit("c", "view"), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(client_->Commit("c", "missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->Remove("base"), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(client_->Stat("missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(client_->Prepare("x", "", {{"k", std::string(5000, 'v')}}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(client_->List({"name=="}), StatusIs(Code::kInvalidArgument));
  snapshots_pb::Info info;
  info.set_name("active");
  info.set_kind(snapshots_pb::COMMITTED);
  // Without field paths the immutable fields are ignored (containerd's rule).
  ASSERT_OK_AND_ASSIGN(auto updated, client_->Update(info, {}));
  EXPECT_EQ(updated.kind(), snapshots_pb::ACTIVE);
  EXPECT_THAT(client_->Update(info, {"kind"}), StatusIs(Code::kInvalidArgument));
  info.set_kind(snapshots_pb::UNKNOWN);
  info.set_parent("other");
  EXPECT_THAT(client_->Update(info, {"parent"}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(client_->Update(info, {"name"}), StatusIs(Code::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto all, client_->List());
  EXPECT_EQ(all.size(), 3u);
}

TEST_F(SnapshotsIntegrationTest, StatUpdateUsageAndListOverTheWire) {
  CommitLayer("base", "",
              [](const std::string& r) { WriteFileOrDie(r + "/big", std::string(1 << 20, 'b')); });
  ASSERT_OK(client_->Prepare("c", "base", {{"containerd.io/snapshot/x", "1"}}).status());
  ASSERT_OK_AND_ASSIGN(auto st, client_->Stat("c"));
  EXPECT_EQ(st.kind(), snapshots_pb::ACTIVE);
  EXPECT_EQ(st.parent(), "base");
  EXPECT_GT(st.created_at().seconds(), 0);
  snapshots_pb::Info upd;
  upd.set_name("c");
  (*upd.mutable_labels())["y"] = "2";
  ASSERT_OK_AND_ASSIGN(auto after, client_->Update(upd, {"labels.y"}));
  EXPECT_EQ(after.labels().size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto usage, client_->Usage("base"));
  EXPECT_GE(usage.size(), 1 << 20);
  EXPECT_EQ(usage.inodes(), 2);
  ASSERT_OK_AND_ASSIGN(auto listed, client_->List({"labels.y==2"}));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), "c");
  ASSERT_OK_AND_ASSIGN(auto committed, client_->List({"kind==committed|labels.y==3"}));
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0].name(), "base");
}

// A Stat must answer while a List stream is open and unread.
TEST_F(SnapshotsIntegrationTest, StatAnswersWhileListStreamIsOpen) {
  for (int i = 0; i < 350; ++i) ASSERT_OK(client_->Prepare(absl::StrCat("s", i), "").status());
  grpc::ClientContext ctx;
  snapshots_pb::ListSnapshotsRequest req;
  auto reader = client_->stub()->List(&ctx, req);
  snapshots_pb::ListSnapshotsResponse first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(first.info_size(), 100);
  SnapshotsClient other(daemon_->channel());
  ASSERT_OK(other.Stat("s7").status());
  ASSERT_OK(other.Prepare("during-list", "").status());
  int total = first.info_size();
  snapshots_pb::ListSnapshotsResponse more;
  while (reader->Read(&more)) total += more.info_size();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_GE(total, 350);
}

TEST_F(SnapshotsIntegrationTest, CommittedDataSurvivesKillAndOrphansAreCleaned) {
  CommitLayer("base", "", [](const std::string& r) { WriteFileOrDie(r + "/f", "durable"); });
  ASSERT_OK(client_->Prepare("active", "base").status());
  ASSERT_EQ(daemon_->Stop(SIGKILL), 128 + SIGKILL);
  // What a kill between mkdir and the metadata write leaves:
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/zzzzz/f")));
  StartDaemon();
  EXPECT_FALSE(Exists(tmp_.Sub("root/snapshots/zzzzz")));
  ASSERT_OK_AND_ASSIGN(auto all, client_->List());
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(ReadFileOrDie(ViewOf("base") + "/f"), "durable");
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/yyyyy/f")));
  ASSERT_OK(client_->Cleanup());
  EXPECT_FALSE(Exists(tmp_.Sub("root/snapshots/yyyyy")));
  ASSERT_OK(client_->Stat("active").status());
}

TEST_F(SnapshotsIntegrationTest, RemoveDeletesTheDirectory) {
  auto mounts = client_->Prepare("gone", "");
  ASSERT_OK(mounts);
  std::string dir = (*mounts)[0].source;
  ASSERT_TRUE(Exists(dir));
  ASSERT_OK(client_->Remove("gone"));
  // The directory goes in the background, right after the record.
  for (int i = 0; i < 100 && Exists(dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Exists(dir));
  EXPECT_THAT(client_->Stat("gone"), StatusIs(Code::kNotFound));
}

}  // namespace
}  // namespace strata::testing
