// The snapshotter's metadata rules, tested without a single snapshot
// directory: only the RocksDB files of the metadata store exist.
#include "snapshotter/meta_store.h"

#include "snapshotter/records.h"
#include "tests/test_util.h"

namespace strata::snapshotter {
namespace {

using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using Code = absl::StatusCode;

constexpr KeySpace kC = KeySpace::kContainerd;
constexpr KeySpace kN = KeySpace::kNative;

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, meta::Db::Open({tmp_.Sub("meta")}));
    // Stands in for the filesystem: a layer directory's usage follows its id.
    store_ = std::make_unique<MetaStore>(db_.get(), [](uint64_t id) -> absl::StatusOr<DiskUsage> {
      return DiskUsage{static_cast<int64_t>(id) * 100, static_cast<int64_t>(id)};
    });
  }

  // An active snapshot in directory `id`, committed as `name`.
  void Committed(KeySpace space, const std::string& name, const std::string& parent, uint64_t id) {
    ASSERT_OK(store_->Create(space, Kind::kActive, name + "-a", parent, {}, "", id).status());
    ASSERT_OK(store_->Commit(space, name, name + "-a", {}, "", id, DiskUsage{10, 1}));
  }

  LayerInfo Layer(const std::string& chain, const std::string& parent) {
    LayerInfo layer;
    layer.chain_id = chain;
    layer.parent_chain_id = parent;
    layer.diff_id = "sha256:diff-" + chain;
    return layer;
  }

  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<MetaStore> store_;
};

TEST_F(MetaStoreTest, CreateRecordsKindParentLabelsAndDirectoryId) {
  Committed(kC, "base", "", 3);
  ASSERT_OK(store_->Create(kC, Kind::kView, "v", "base", {{"l", "1"}}, "", 7).status());
  ASSERT_OK_AND_ASSIGN(auto rec, store_->Get(kC, "v"));
  EXPECT_EQ(rec.id(), 7u);
  EXPECT_EQ(rec.parent(), "base");
  EXPECT_EQ(KindFromRecord(rec.kind()), Kind::kView);
  EXPECT_EQ(rec.labels().at("l"), "1");
  ASSERT_OK_AND_ASSIGN(std::vector<uint64_t> parents, store_->ParentDirIds(kC, rec));
  EXPECT_EQ(parents, std::vector<uint64_t>{3});
  EXPECT_EQ(*store_->HighestIdRecorded(), 7u);
  EXPECT_EQ(*store_->HasChildren(kC, "base"), true);
  // The key spaces do not see each other.
  EXPECT_THAT(store_->Get(kN, "v"), StatusIs(Code::kNotFound));
}

TEST_F(MetaStoreTest, CreateRefusesTakenKeysAndParentsThatAreMissingOrNotCommitted) {
  Committed(kC, "base", "", 1);
  ASSERT_OK(store_->Create(kC, Kind::kActive, "active", "base", {}, "", 2).status());
  EXPECT_THAT(store_->Create(kC, Kind::kActive, "active", "", {}, "", 3),
              StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(store_->Create(kC, Kind::kActive, "x", "missing", {}, "", 3),
              StatusIs(Code::kNotFound));
  EXPECT_THAT(store_->Create(kC, Kind::kActive, "x", "active", {}, "", 3),
              StatusIs(Code::kFailedPrecondition));
  EXPECT_THAT(store_->Create(kC, Kind::kActive, "", "", {}, "", 3),
              StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(store_->Get(kC, "x"), StatusIs(Code::kNotFound));
  EXPECT_EQ(*store_->HighestIdRecorded(), 2u);  // refused calls take no id
}

TEST_F(MetaStoreTest, CommitRejectsViewsAndSnapshotsReplacedSinceTheyWereMeasured) {
  ASSERT_OK(store_->Create(kC, Kind::kView, "view", "", {}, "", 1).status());
  EXPECT_THAT(store_->Commit(kC, "c", "view", {}, "", 1, {}), StatusIs(Code::kFailedPrecondition));
  ASSERT_OK(store_->Create(kC, Kind::kActive, "a", "", {}, "", 2).status());
  ASSERT_OK(store_->Remove(kC, "a").status());
  ASSERT_OK(store_->Create(kC, Kind::kActive, "a", "", {}, "", 3).status());
  // Measured while "a" was directory 2: that is no longer the snapshot.
  EXPECT_THAT(store_->Commit(kC, "c", "a", {}, "", 2, {}), StatusIs(Code::kFailedPrecondition));
  ASSERT_OK(store_->Commit(kC, "c", "a", {{"k", "v"}}, "", 3, DiskUsage{4096, 2}));
  ASSERT_OK_AND_ASSIGN(auto rec, store_->Get(kC, "c"));
  EXPECT_EQ(KindFromRecord(rec.kind()), Kind::kCommitted);
  EXPECT_EQ(rec.size_bytes(), 4096);
  EXPECT_EQ(rec.inodes(), 2);
  EXPECT_THAT(store_->Get(kC, "a"), StatusIs(Code::kNotFound));
}

TEST_F(MetaStoreTest, CommitMovesTheChildEntrySoTheParentStaysPinned) {
  Committed(kC, "base", "", 1);
  Committed(kC, "top", "base", 2);
  EXPECT_THAT(store_->Remove(kC, "base"), StatusIs(Code::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(MetaStore::Removal top, store_->Remove(kC, "top"));
  EXPECT_EQ(top.dir_id, 2u);
  EXPECT_TRUE(top.frees_dir);
  EXPECT_GT(top.ticket, 0u);
  EXPECT_EQ(*store_->HasChildren(kC, "base"), false);
  ASSERT_OK(store_->Remove(kC, "base").status());
}

TEST_F(MetaStoreTest, UpdateReplacesOnlyLabels) {
  ASSERT_OK(
      store_->Create(kC, Kind::kActive, "a", "", {{"keep", "1"}, {"drop", "2"}}, "", 1).status());
  Info in;
  in.name = "a";
  in.parent = "ignored";
  in.labels = {{"new", "3"}};
  ASSERT_OK_AND_ASSIGN(Info out, store_->Update(kC, in, {"labels.new", "labels.drop"}));
  EXPECT_EQ(out.labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  EXPECT_EQ(out.parent, "");
  EXPECT_THAT(store_->Update(kC, in, {"parent"}), StatusIs(Code::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(out, store_->Update(kC, in, {}));
  EXPECT_EQ(out.labels, (Labels{{"new", "3"}}));
}

// A layer's directory is shared by its snapshot in each key space and goes
// only with the last reference.
TEST_F(MetaStoreTest, LayerReferencesCountEveryKeySpace) {
  ASSERT_OK(store_->RecordLayer(kN, Layer("sha256:base", ""), 5, DiskUsage{1, 1}, ""));
  ASSERT_OK(store_->RecordLayer(kN, Layer("sha256:top", "sha256:base"), 6, DiskUsage{1, 1}, ""));
  EXPECT_THAT(store_->RecordLayer(kN, Layer("sha256:top", "sha256:base"), 9, {}, ""),
              StatusIs(Code::kAlreadyExists));
  ASSERT_OK(store_->AdoptLayerChain(kC, "sha256:top", ""));
  ASSERT_OK_AND_ASSIGN(auto adopted, store_->Get(kC, "sha256:base"));
  EXPECT_EQ(adopted.size_bytes(), 500);  // measured through UsageOf for directory 5
  EXPECT_EQ(store_->GetLayer("sha256:top")->refs, 2);

  ASSERT_OK_AND_ASSIGN(MetaStore::Removal c_top, store_->Remove(kC, "sha256:top"));
  EXPECT_FALSE(c_top.frees_dir);  // the native snapshot still uses directory 6
  ASSERT_OK_AND_ASSIGN(MetaStore::Removal n_top, store_->Remove(kN, "sha256:top"));
  EXPECT_TRUE(n_top.frees_dir);
  EXPECT_EQ(n_top.dir_id, 6u);
  EXPECT_THAT(store_->GetLayer("sha256:top"), StatusIs(Code::kNotFound));
}

// A snapshot above a layer this key space has not seen adopts the layer's
// chain in the same transaction.
TEST_F(MetaStoreTest, CreateAboveAnUnseenLayerAdoptsItsChain) {
  ASSERT_OK(store_->RecordLayer(kN, Layer("sha256:base", ""), 5, DiskUsage{1, 1}, ""));
  EXPECT_EQ(*store_->ParentDirId(kC, "sha256:base"), 5u);
  ASSERT_OK(store_->Create(kC, Kind::kActive, "c", "sha256:base", {}, "", 8).status());
  ASSERT_OK_AND_ASSIGN(auto layer_snapshot, store_->Get(kC, "sha256:base"));
  EXPECT_EQ(layer_snapshot.layer_chain_id(), "sha256:base");
  EXPECT_EQ(store_->GetLayer("sha256:base")->refs, 2);
}

TEST_F(MetaStoreTest, CollectSweepsUnreachedCommittedNativeSnapshotsLeavesFirst) {
  Committed(kN, "base", "", 1);
  Committed(kN, "mid", "base", 2);
  Committed(kN, "kept", "", 3);
  ASSERT_OK(store_->Create(kN, Kind::kActive, "work", "kept", {}, "", 4).status());
  Committed(kC, "containerd", "", 5);  // containerd's snapshots are never collected
  meta::WriteTxn txn(db_.get());
  ASSERT_OK_AND_ASSIGN(CollectPlan plan, store_->StageCollect(txn, {}, nullptr));
  ASSERT_EQ(plan.swept.size(), 2u);
  EXPECT_EQ(plan.swept[0].key, "mid");
  EXPECT_EQ(plan.swept[1].key, "base");
  EXPECT_EQ(plan.kept, 2);  // "kept" (a parent of an active one) and "work"
  ASSERT_OK(txn.Commit());
  EXPECT_THAT(store_->Get(kN, "base"), StatusIs(Code::kNotFound));
  EXPECT_OK(store_->Get(kC, "containerd").status());
}

}  // namespace
}  // namespace strata::snapshotter
