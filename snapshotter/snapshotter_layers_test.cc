#include <sys/stat.h>

#include "common/fs.h"
#include "snapshotter/snapshotter.h"
#include "tests/test_util.h"

namespace strata::snapshotter {
namespace {

using ::strata::testing::Exists;
using ::strata::testing::ReadFileOrDie;
using ::strata::testing::StatusIs;
using ::strata::testing::TempDir;
using ::strata::testing::WriteFileOrDie;
using Code = absl::StatusCode;
constexpr KeySpace kN = KeySpace::kNative;
constexpr KeySpace kC = KeySpace::kContainerd;

class LayerRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = meta::Db::Open({tmp_.Sub("meta")});
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto sn = Snapshotter::Open(db_.get(), {tmp_.Sub("root"), 0});
    ASSERT_OK(sn);
    sn_ = std::move(*sn);
  }

  // Unpacks (here: writes one file) and commits layer `chain` above `parent`.
  uint64_t Layer(const std::string& chain, const std::string& parent, const std::string& file) {
    absl::StatusOr<uint64_t> id = sn_->NewLayerDirectory();
    EXPECT_OK(id);
    WriteFileOrDie(sn_->layout().FilesDir(*id) + "/" + file, chain);
    Snapshotter::LayerInfo info;
    info.chain_id = chain;
    info.parent_chain_id = parent;
    info.diff_id = "sha256:diff-of-" + chain;
    EXPECT_OK(sn_->RecordUnpackedLayer(kN, info, *id));
    return *id;
  }

  TempDir tmp_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(LayerRecordsTest, CommittedLayersAreSnapshotsNamedByChainId) {
  Layer("sha256:a", "", "one");
  Layer("sha256:b", "sha256:a", "two");
  ASSERT_OK_AND_ASSIGN(Info info, sn_->Stat(kN, "sha256:b"));
  EXPECT_EQ(info.kind, Kind::kCommitted);
  EXPECT_EQ(info.parent, "sha256:a");
  EXPECT_EQ(info.labels.at("containerd.io/snapshot.ref"), "sha256:b");
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->Prepare(kN, "container", "sha256:b", {}));
  EXPECT_EQ(mounts[0].type, "overlay");
  ASSERT_OK_AND_ASSIGN(auto layer, sn_->GetLayer("sha256:b"));
  EXPECT_EQ(layer.refs, 1);
  EXPECT_EQ(layer.diff_id, "sha256:diff-of-sha256:b");
  // Native layers are invisible to the containerd key space.
  EXPECT_THAT(sn_->Stat(kC, "sha256:b"), StatusIs(Code::kNotFound));
}

TEST_F(LayerRecordsTest, SecondCommitOfAChainIsAlreadyExists) {
  Layer("sha256:a", "", "one");
  ASSERT_OK_AND_ASSIGN(uint64_t id, sn_->NewLayerDirectory());
  Snapshotter::LayerInfo info;
  info.chain_id = "sha256:a";
  EXPECT_THAT(sn_->RecordUnpackedLayer(kN, info, id), StatusIs(Code::kAlreadyExists));
  sn_->DiscardLayerDirectory(id);
  info.chain_id = "sha256:orphan";
  info.parent_chain_id = "sha256:missing";
  ASSERT_OK_AND_ASSIGN(id, sn_->NewLayerDirectory());
  EXPECT_THAT(sn_->RecordUnpackedLayer(kN, info, id), StatusIs(Code::kNotFound));
  sn_->DiscardLayerDirectory(id);
}

TEST_F(LayerRecordsTest, RemoteSnapshotterProtocolSharesTheDirectory) {
  uint64_t a = Layer("sha256:a", "", "one");
  Layer("sha256:b", "sha256:a", "two");
  // containerd's unpacker prepares an extraction snapshot for layer a.
  Labels ref_a = {{"containerd.io/snapshot.ref", "sha256:a"}};
  EXPECT_THAT(sn_->Prepare(kC, "ns/1/extract-1 sha256:a", "", ref_a),
              StatusIs(Code::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(Info ca, sn_->Stat(kC, "sha256:a"));
  EXPECT_EQ(ca.kind, Kind::kCommitted);
  // ...then for layer b above it.
  Labels ref_b = {{"containerd.io/snapshot.ref", "sha256:b"}};
  EXPECT_THAT(sn_->Prepare(kC, "ns/2/extract-2 sha256:b", "sha256:a", ref_b),
              StatusIs(Code::kAlreadyExists));
  int found = 0;
  ASSERT_OK(sn_->Walk(kC, {"labels.\"containerd.io/snapshot.ref\"==sha256:b,parent==sha256:a"},
                      [&](const Info&) {
                        ++found;
                        return true;
                      }));
  EXPECT_EQ(found, 1);
  ASSERT_OK_AND_ASSIGN(auto layer_a, sn_->GetLayer("sha256:a"));
  EXPECT_EQ(layer_a.refs, 2);
  EXPECT_EQ(layer_a.dir_id, a);
  // A container above it in the containerd key space sees the shared files.
  ASSERT_OK_AND_ASSIGN(auto mounts, sn_->View(kC, "ns/3/view", "sha256:b", {}));
  EXPECT_NE(mounts[0].options.back().find(sn_->layout().FilesDir(a)), std::string::npos);
  // A different parent is not the same chain: the normal path is taken.
  ASSERT_OK(sn_->Prepare(kC, "ns/4/other-base", "", {}).status());
  ASSERT_OK(sn_->Commit(kC, "ns/5/other", "ns/4/other-base", {}));
  ASSERT_OK(sn_->Prepare(kC, "ns/6/extract sha256:b", "ns/5/other", ref_b).status());
}

TEST_F(LayerRecordsTest, PreparingAboveAChainIdAdoptsItInEitherKeySpace) {
  Layer("sha256:a", "", "one");
  ASSERT_OK(sn_->Prepare(kC, "direct-client", "sha256:a", {}).status());
  ASSERT_OK_AND_ASSIGN(Info adopted, sn_->Stat(kC, "sha256:a"));
  EXPECT_EQ(adopted.kind, Kind::kCommitted);
}

TEST_F(LayerRecordsTest, DirectoryGoesWithTheLastReference) {
  uint64_t a = Layer("sha256:a", "", "one");
  ASSERT_OK(sn_->AdoptLayerChain(kC, "sha256:a"));
  std::string dir = sn_->layout().FilesDir(a);
  ASSERT_OK(sn_->Remove(kC, "sha256:a"));  // containerd's GC drops its view
  sn_->WaitForBackgroundWork();
  EXPECT_TRUE(Exists(dir + "/one"));
  ASSERT_OK_AND_ASSIGN(auto layer, sn_->GetLayer("sha256:a"));
  EXPECT_EQ(layer.refs, 1);
  ASSERT_OK(sn_->Remove(kN, "sha256:a"));
  sn_->WaitForBackgroundWork();
  EXPECT_FALSE(Exists(dir));
  EXPECT_THAT(sn_->GetLayer("sha256:a"), StatusIs(Code::kNotFound));
}

TEST_F(LayerRecordsTest, CleanupKeepsLayerDirectories) {
  uint64_t a = Layer("sha256:a", "", "one");
  ASSERT_OK(sn_->Cleanup());
  EXPECT_EQ(ReadFileOrDie(sn_->layout().FilesDir(a) + "/one"), "sha256:a");
}

}  // namespace
}  // namespace strata::snapshotter
