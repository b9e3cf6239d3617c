#include "snapshotter/snapshotter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "tests/test_util.h"

namespace strata::snapshotter {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using ::strata::testing::UpperDirOf;
using ::strata::testing::WriteFileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr KeySpace kC = KeySpace::kContainerd;

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    sn_.reset();
    db_.reset();
    auto db = meta::Db::Open({tmp_.Sub("meta")});
    ASSERT_OK(db);
    db_ = std::move(*db);
    // No pre-made directories: these tests count directories exactly.
    auto sn = Snapshotter::Open(db_.get(), {tmp_.Sub("root"), ready_dirs_});
    ASSERT_OK(sn);
    sn_ = std::move(*sn);
  }

  // Prepare key, write a file into it, commit as name.
  void Layer(const std::string& name, const std::string& parent, const std::string& file) {
    auto mounts = sn_->Prepare(kC, name + "-active", parent, {});
    ASSERT_OK(mounts);
    WriteFileOrDie(UpperDirOf(*mounts) + "/" + file, file);
    ASSERT_OK(sn_->Commit(kC, name, name + "-active", {}));
  }

  std::vector<std::string> Names(const std::vector<std::string>& filters = {}) {
    std::vector<std::string> names;
    EXPECT_OK(sn_->Walk(kC, filters, [&](const Info& i) {
      names.push_back(i.name);
      return true;
    }));
    return names;
  }

  std::vector<std::string> SnapshotDirs() {
    sn_->WaitForBackgroundWork();
    auto names = ListDir(tmp_.Sub("root/snapshots"));
    EXPECT_OK(names);
    return names.ok() ? *names : std::vector<std::string>{};
  }

  int ready_dirs_ = 0;
  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(SnapshotterTest, PrepareWithoutParentIsWritableBind) {
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "a", "", {{"l", "v"}}));
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].type, "bind");
  EXPECT_THAT(mounts[0].options, ElementsAre("rw", "rbind"));
  EXPECT_TRUE(Exists(mounts[0].source));
  ASSERT_OK_AND_ASSIGN(Info info, sn_->Stat(kC, "a"));
  EXPECT_EQ(info.kind, Kind::kActive);
  EXPECT_EQ(info.labels.at("l"), "v");
}

TEST_F(SnapshotterTest, ChildOfCommittedIsOverlayNearestLowerFirst) {
  Layer("base", "", "one");
  Layer("mid", "base", "two");
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "c", "mid", {}));
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].type, "overlay");
  const auto& opts = mounts[0].options;
  ASSERT_EQ(opts.size(), 4u);
  EXPECT_EQ(opts[0], "index=off");
  EXPECT_THAT(opts[1], HasSubstr("workdir="));
  EXPECT_THAT(opts[2], HasSubstr("upperdir="));
  std::string lower = opts[3];
  ASSERT_EQ(lower.rfind("lowerdir=", 0), 0u);
  std::string first = lower.substr(9, lower.find(':') - 9);
  EXPECT_TRUE(Exists(first + "/two")) << lower;  // nearest (mid) first
  EXPECT_TRUE(Exists(lower.substr(lower.find(':') + 1) + "/one"));
}

TEST_F(SnapshotterTest, ViewsAreReadOnly) {
  Layer("base", "", "one");
  ASSERT_OK_AND_ASSIGN(auto one, sn_->View(kC, "v1", "base", {}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].type, "bind");
  EXPECT_THAT(one[0].options, ElementsAre("ro", "rbind"));
  EXPECT_TRUE(Exists(one[0].source + "/one"));
  Layer("top", "base", "two");
  ASSERT_OK_AND_ASSIGN(auto two, sn_->View(kC, "v2", "top", {}));
  EXPECT_EQ(two[0].type, "overlay");
  for (const auto& o : two[0].options) {
    EXPECT_EQ(o.find("upperdir="), std::string::npos);
  }
  ASSERT_OK_AND_ASSIGN(auto none, sn_->View(kC, "v3", "", {}));
  EXPECT_THAT(none[0].options, ElementsAre("ro", "rbind"));
  ASSERT_OK_AND_ASSIGN(Info info, sn_->Stat(kC, "v2"));
  EXPECT_EQ(info.kind, Kind::kView);
}

TEST_F(SnapshotterTest, CommitMovesKeyToNameWithCommitLabels) {
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "a", "", {{"prepare", "1"}}));
  WriteFileOrDie(UpperDirOf(mounts) + "/f", std::string(8192, 'x'));
  ASSERT_OK(sn_->Commit(kC, "layer", "a", {{"commit", "2"}}));
  EXPECT_THAT(sn_->Stat(kC, "a"), StatusIs(Code::kNotFound));
  ASSERT_OK_AND_ASSIGN(Info info, sn_->Stat(kC, "layer"));
  EXPECT_EQ(info.kind, Kind::kCommitted);
  EXPECT_EQ(info.labels, (Labels{{"commit", "2"}}));
  ASSERT_OK_AND_ASSIGN(Usage usage, sn_->GetUsage(kC, "layer"));
  EXPECT_EQ(usage.inodes, 2);
  EXPECT_GE(usage.size, 8192);
  EXPECT_THAT(sn_->Mounts(kC, "layer"), StatusIs(Code::kFailedPrecondition));
}

TEST_F(SnapshotterTest, ActiveUsageIsMeasuredNow) {
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "a", "", {}));
  ASSERT_OK_AND_ASSIGN(Usage before, sn_->GetUsage(kC, "a"));
  WriteFileOrDie(UpperDirOf(mounts) + "/f", std::string(100000, 'x'));
  ASSERT_OK_AND_ASSIGN(Usage after, sn_->GetUsage(kC, "a"));
  EXPECT_EQ(after.inodes, before.inodes + 1);
  EXPECT_GE(after.size - before.size, 100000);
}

TEST_F(SnapshotterTest, BadInputIsRejectedAndChangesNothing) {
  Layer("base", "", "one");
  ASSERT_OK(sn_->Prepare(kC, "active", "base", {}).status());
  ASSERT_OK(sn_->View(kC, "view", "base", {}).status());
  auto before = Names();
  size_t dirs_before = SnapshotDirs().size();

  EXPECT_THAT(sn_->Prepare(kC, "", "", {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sn_->Prepare(kC, std::string(32769, 'k'), "", {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sn_->Prepare(kC, std::string("a\0b", 3), "", {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sn_->Prepare(kC, "x", "nope", {}), StatusIs(Code::kNotFound));
  EXPECT_THAT(sn_->Prepare(kC, "active", "", {}), StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(sn_->Prepare(kC, "x", "active", {}), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(sn_->Prepare(kC, "x", "view", {}), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(sn_->Prepare(kC, "x", "", {{"k", std::string(4096, 'v')}}),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sn_->Commit(kC, "c", "view", {}), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(sn_->Commit(kC, "c", "base", {}), StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(sn_->Commit(kC, "c", "missing", {}), StatusIs(Code::kNotFound));
  EXPECT_THAT(sn_->Commit(kC, "base", "active", {}), StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(sn_->Commit(kC, "", "active", {}), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sn_->Remove(kC, "missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(sn_->Stat(kC, "missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(sn_->Mounts(kC, "missing"), StatusIs(Code::kNotFound));
  EXPECT_THAT(sn_->GetUsage(kC, "missing"), StatusIs(Code::kNotFound));

  EXPECT_EQ(Names(), before);
  EXPECT_EQ(SnapshotDirs().size(), dirs_before);
  ASSERT_OK_AND_ASSIGN(Info active, sn_->Stat(kC, "active"));
  EXPECT_EQ(active.kind, Kind::kActive);
}

TEST_F(SnapshotterTest, RemoveRefusedWhileChildrenExist) {
  Layer("base", "", "one");
  ASSERT_OK(sn_->Prepare(kC, "child", "base", {}).status());
  EXPECT_THAT(sn_->Remove(kC, "base"), StatusIs(Code::kFailedPrecondition));
  ASSERT_OK(sn_->Remove(kC, "child"));
  ASSERT_OK(sn_->Remove(kC, "base"));
  EXPECT_TRUE(Names().empty());
  EXPECT_TRUE(SnapshotDirs().empty());
}

TEST_F(SnapshotterTest, CommittedChildKeepsParentPinned) {
  Layer("base", "", "one");
  Layer("top", "base", "two");
  EXPECT_THAT(sn_->Remove(kC, "base"), StatusIs(Code::kFailedPrecondition));
  ASSERT_OK(sn_->Remove(kC, "top"));
  ASSERT_OK(sn_->Remove(kC, "base"));
}

TEST_F(SnapshotterTest, UpdateChangesOnlyLabels) {
  ASSERT_OK(sn_->Prepare(kC, "a", "", {{"keep", "1"}, {"drop", "2"}}).status());
  Info in;
  in.name = "a";
  in.labels = {{"new", "3"}};
  ASSERT_OK_AND_ASSIGN(Info out, sn_->Update(kC, in, {"labels.new", "labels.drop"}));
  EXPECT_EQ(out.labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  ASSERT_OK_AND_ASSIGN(out, sn_->Update(kC, in, {}));
  EXPECT_EQ(out.labels, (Labels{{"new", "3"}}));
  ASSERT_OK_AND_ASSIGN(out, sn_->Update(kC, in, {"labels"}));
  EXPECT_EQ(out.labels, (Labels{{"new", "3"}}));
  EXPECT_GE(out.updated, out.created);

  for (const char* path : {"name", "parent", "kind", "created_at"}) {
    EXPECT_THAT(sn_->Update(kC, in, {path}), StatusIs(Code::kInvalidArgument)) << path;
  }
  // Without field paths the immutable fields are ignored, not refused.
  Info other_fields = in;
  other_fields.kind = Kind::kCommitted;
  other_fields.parent = "elsewhere";
  ASSERT_OK_AND_ASSIGN(out, sn_->Update(kC, other_fields, {}));
  EXPECT_EQ(out.kind, Kind::kActive);
  EXPECT_EQ(out.parent, "");
  Info missing = in;
  missing.name = "nope";
  EXPECT_THAT(sn_->Update(kC, missing, {}), StatusIs(Code::kNotFound));
  Info too_big = in;
  too_big.labels = {{"k", std::string(4096, 'v')}};
  EXPECT_THAT(sn_->Update(kC, too_big, {}), StatusIs(Code::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(Info now, sn_->Stat(kC, "a"));
  EXPECT_EQ(now.labels, (Labels{{"new", "3"}}));
}

TEST_F(SnapshotterTest, WalkFilters) {
  Layer("base", "", "one");
  ASSERT_OK(sn_->Prepare(kC, "c1", "base", {{"team", "a"}}).status());
  ASSERT_OK(sn_->View(kC, "v1", "base", {{"team", "b"}}).status());
  EXPECT_THAT(Names(), ElementsAre("base", "c1", "v1"));
  EXPECT_THAT(Names({"kind==committed"}), ElementsAre("base"));
  EXPECT_THAT(Names({"parent==base"}), ElementsAre("c1", "v1"));
  EXPECT_THAT(Names({"labels.team==b"}), ElementsAre("v1"));
  EXPECT_THAT(Names({"labels.team"}), ElementsAre("c1", "v1"));
  EXPECT_THAT(Names({"kind==view|name==base"}), ElementsAre("base", "v1"));
  EXPECT_THAT(Names({"kind==active,labels.team==a"}), ElementsAre("c1"));
  EXPECT_THAT(sn_->Walk(kC, {"kind=="}, [](const Info&) { return true; }),
              StatusIs(Code::kInvalidArgument));
}

TEST_F(SnapshotterTest, KeySpacesAreSeparate) {
  ASSERT_OK(sn_->Prepare(kC, "same", "", {}).status());
  EXPECT_THAT(sn_->Stat(KeySpace::kNative, "same"), StatusIs(Code::kNotFound));
  ASSERT_OK(sn_->Prepare(KeySpace::kNative, "same", "", {}).status());
  ASSERT_OK(sn_->Remove(KeySpace::kNative, "same"));
  ASSERT_OK(sn_->Stat(kC, "same").status());
}

// Native keys are typed and read by people: one printable line, of a
// length a path fits in; containerd's keep containerd's rule.
TEST_F(SnapshotterTest, NativeKeysAreOnePrintableLine) {
  constexpr KeySpace kN = KeySpace::kNative;
  for (const std::string& bad : {std::string("tab\there"), std::string("line\nbreak"),
                                 std::string(5000, 'k'), std::string("del\x7f")}) {
    EXPECT_THAT(sn_->Prepare(kN, bad, "", {}), StatusIs(Code::kInvalidArgument)) << bad.size();
  }
  ASSERT_OK(sn_->Prepare(kN, "work", "", {}).status());
  EXPECT_THAT(sn_->Commit(kN, "tab\tname", "work", {}), StatusIs(Code::kInvalidArgument));
  ASSERT_OK(sn_->Prepare(kN, "strata-mount:/a/path with spaces/\xc3\xa9", "", {}).status());
  ASSERT_OK(sn_->Prepare(kC, "tab\tfor containerd", "", {}).status());
}

TEST_F(SnapshotterTest, RecoveryRemovesOrphansAndStagingKeepsRecords) {
  Layer("base", "", "one");
  ASSERT_OK(sn_->Prepare(kC, "c", "base", {}).status());
  // What a crash between mkdir and the metadata write leaves behind:
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/zzzz/f")));
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/not-an-id")));
  ASSERT_OK(MakeDirs(tmp_.Sub("root/tmp/unpack-1/x")));
  Reopen();
  EXPECT_EQ(sn_->recovery_report().orphan_dirs_removed, 2);
  EXPECT_EQ(sn_->recovery_report().tmp_entries_removed, 1);
  EXPECT_TRUE(sn_->recovery_report().records_missing_dir.empty());
  EXPECT_FALSE(Exists(tmp_.Sub("root/snapshots/zzzz")));
  EXPECT_THAT(Names(), ElementsAre("base", "c"));
  // Ids keep growing past what existed: a new snapshot never reuses one.
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "d", "", {}));
  EXPECT_EQ(SnapshotDirs().size(), 3u);
}

TEST_F(SnapshotterTest, RecoveryReportsRecordWithoutDirectory) {
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "a", "", {}));
  ASSERT_OK(RemoveTree(mounts[0].source.substr(0, mounts[0].source.size() - 2)));
  Reopen();
  EXPECT_EQ(sn_->recovery_report().records_missing_dir.size(), 1u);
  ASSERT_OK(sn_->Stat(kC, "a").status());
}

TEST_F(SnapshotterTest, CleanupRemovesOnlyUnreferencedDirs) {
  Layer("base", "", "one");
  ASSERT_OK(MakeDirs(tmp_.Sub("root/snapshots/zz/f")));
  ASSERT_OK(sn_->Cleanup());
  EXPECT_FALSE(Exists(tmp_.Sub("root/snapshots/zz")));
  EXPECT_EQ(SnapshotDirs().size(), 1u);
}

TEST_F(SnapshotterTest, UpperDirCopiesParentRootOwnerAndMode) {
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kC, "a", "", {}));
  ASSERT_EQ(::chmod(mounts[0].source.c_str(), 0750), 0);
  ASSERT_EQ(::chown(mounts[0].source.c_str(), 1234, 5678), 0);
  ASSERT_OK(sn_->Commit(kC, "base", "a", {}));
  ASSERT_OK_AND_ASSIGN(auto child, sn_->Prepare(kC, "b", "base", {}));
  struct stat st;
  ASSERT_EQ(::stat(UpperDirOf(child).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
}

// With the default pool of pre-made directories: Cleanup never takes a pooled
// directory for an orphan, recovery removes them, and removal happens behind.
class PooledSnapshotterTest : public SnapshotterTest {
 protected:
  void SetUp() override {
    ready_dirs_ = 8;
    Reopen();
  }
};

TEST_F(PooledSnapshotterTest, PooledDirsSurviveCleanupAndGoAtRecovery) {
  ASSERT_OK(sn_->Prepare(kC, "a", "", {}).status());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the pool refill
  size_t with_pool = SnapshotDirs().size();
  EXPECT_GT(with_pool, 1u);
  ASSERT_OK(sn_->Cleanup());
  EXPECT_EQ(SnapshotDirs().size(), with_pool);
  // Many prepares at once all get distinct, working directories.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        auto m = sn_->Prepare(kC, absl::StrCat("p", t, "-", i), "", {});
        EXPECT_OK(m);
        if (m.ok()) WriteFileOrDie(UpperDirOf(*m) + "/mine", absl::StrCat(t, "-", i));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 25; ++i) {
      ASSERT_OK_AND_ASSIGN(auto m, sn_->Mounts(kC, absl::StrCat("p", t, "-", i)));
      EXPECT_EQ(::strata::testing::ReadFileOrDie(UpperDirOf(m) + "/mine"), absl::StrCat(t, "-", i));
    }
  }
  // A clean close removes the pooled directories; exactly the recorded ones
  // remain. (After a kill they are orphans: RecoveryRemovesOrphans... covers it.)
  ASSERT_OK(sn_->Remove(kC, "a"));
  ready_dirs_ = 0;
  Reopen();
  EXPECT_EQ(SnapshotDirs().size(), 100u);
}

}  // namespace
}  // namespace strata::snapshotter
