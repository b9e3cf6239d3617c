// The garbage collector against the real core (RocksDB, content store,
// importer, overlay snapshots): what goes, what stays, and why.
#include "layerstore/gc.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <thread>

#include "common/fs.h"
#include "common/mount.h"
#include "layerstore/call_scope.h"
#include "layerstore/importer.h"
#include "meta/leases.h"
#include "tests/oci_builder.h"
#include "tests/store_test.h"
#include "tests/test_util.h"

namespace strata::layerstore {
namespace {

using snapshotter::KeySpace;
using ::strata::testing::BuildOciArchive;
using ::strata::testing::OneFileLayer;
using ::strata::testing::ReadFileOrDie;
using ::strata::testing::StatusIs;
using Code = absl::StatusCode;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

class GcTest : public ::strata::testing::StoreTest {
 protected:
  // base -> a and base -> b: two images sharing their bottom layer.
  void ImportTwoImagesSharingABase() {
    std::string base = OneFileLayer("base.txt", "shared\n");
    std::string archive = BuildOciArchive({{"test/a:1", {base, OneFileLayer("a.txt", "a\n")}},
                                           {"test/b:1", {base, OneFileLayer("b.txt", "b\n")}}});
    MemorySource src(archive.data(), archive.size());
    ASSERT_OK(importer_->Import(&src, ImportOptions{}).status());
  }

  absl::StatusOr<GcReport> Collect(bool dry_run = false,
                                   absl::Duration ingest_age = absl::Hours(24)) {
    GcOptions options;
    options.dry_run = dry_run;
    options.ingest_max_age = ingest_age;
    return gc_->Collect(options);
  }

  static std::set<std::string> Names(const GcReport& r, GcItem::Kind kind) {
    std::set<std::string> out;
    for (const GcItem& i : r.removed) {
      if (i.kind == kind) out.insert(i.name);
    }
    return out;
  }

  std::string LayerDir(const std::string& chain) {
    absl::StatusOr<snapshotter::Snapshotter::LayerInfo> l = snapshots_->GetLayer(chain);
    return l.ok() ? snapshots_->layout().FilesDir(l->dir_id) : "";
  }
};

TEST_F(GcTest, NothingGoesWhileImagesReferenceEverything) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_THAT(r.removed, IsEmpty());
  EXPECT_EQ(r.blobs_kept, 7);  // a shared layer, two own layers, two configs, two manifests
  EXPECT_EQ(r.snapshots_kept, 3);
}

TEST_F(GcTest, DeletedImageLosesItsOwnLayersAndBlobsButSharedOnesStay) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage a, images_->Resolve("test/a:1"));
  ASSERT_OK_AND_ASSIGN(ResolvedImage b, images_->Resolve("test/b:1"));
  std::string a_top_dir = LayerDir(a.top_chain().str());
  ASSERT_TRUE(PathExists(a_top_dir));
  ASSERT_OK(images_->Delete("test/a:1"));

  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_EQ(Names(r, GcItem::Kind::kSnapshot), std::set<std::string>{a.top_chain().str()});
  std::set<std::string> a_own = {a.info.manifest.str(), a.manifest.config.digest.str(),
                                 a.manifest.layers[1].digest.str()};
  EXPECT_EQ(Names(r, GcItem::Kind::kBlob), a_own);
  EXPECT_GT(r.bytes, 0);
  // Gone from metadata and from disk.
  EXPECT_FALSE(content_->Has(a.manifest.layers[1].digest));
  EXPECT_FALSE(PathExists(content_->BlobPath(a.manifest.layers[1].digest)));
  EXPECT_THAT(snapshots_->GetLayer(a.top_chain().str()).status(), StatusIs(Code::kNotFound));
  EXPECT_FALSE(PathExists(a_top_dir));
  // The shared base, and all of b, stay and still mount.
  EXPECT_TRUE(content_->Has(a.manifest.layers[0].digest));
  EXPECT_OK(snapshots_->GetLayer(a.chain_ids[0].str()).status());
  std::string dir = MountImage("test/b:1");
  EXPECT_EQ(ReadFileOrDie(dir + "/base.txt"), "shared\n");
  EXPECT_EQ(ReadFileOrDie(dir + "/b.txt"), "b\n");

  // A second collection finds nothing more.
  UnmountAll();
  ASSERT_OK_AND_ASSIGN(GcReport again, Collect());
  EXPECT_THAT(again.removed, IsEmpty());
}

// If what an image references cannot be read, nothing is collected: the
// collector cannot tell what that image still needs.
TEST_F(GcTest, AnUnreadableImageStopsTheCollection) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage a, images_->Resolve("test/a:1"));
  ASSERT_OK_AND_ASSIGN(ResolvedImage b, images_->Resolve("test/b:1"));
  ASSERT_OK(images_->Delete("test/a:1"));
  ASSERT_EQ(::unlink(content_->BlobPath(b.manifest.config.digest).c_str()), 0);

  absl::StatusOr<GcReport> r = Collect();
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("image \"docker.io/test/b:1\""));
  // b's layers stay, and so does a's garbage, until fsck has its say.
  EXPECT_OK(snapshots_->Stat(KeySpace::kNative, b.top_chain().str()).status());
  EXPECT_OK(snapshots_->Stat(KeySpace::kNative, a.top_chain().str()).status());
  EXPECT_TRUE(content_->Has(a.manifest.layers[1].digest));
}

// A store the collector cannot read still opens with a call to roll back:
// the call's lease goes, what it made waits for a gc that can run.
TEST_F(GcTest, AnUnreadableImageDoesNotStopStartUp) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage b, images_->Resolve("test/b:1"));
  ASSERT_OK(leases_->Create("died", std::nullopt, {}, /*temporary=*/true).status());
  ASSERT_OK(content_->Put("made by the call that died", "", "died").status());
  ASSERT_EQ(::unlink(content_->BlobPath(b.manifest.config.digest).c_str()), 0);
  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, Store::Open(tmp_.Sub("root")));
  EXPECT_THAT(store_->leases->Get("died").status(), StatusIs(Code::kNotFound));
  EXPECT_EQ(store_->calls_rolled_back, 0);
  EXPECT_TRUE(store_->content->Has(Sha256Of("made by the call that died")));
}

TEST_F(GcTest, DryRunChangesNothing) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage a, images_->Resolve("test/a:1"));
  std::string a_top_dir = LayerDir(a.top_chain().str());
  ASSERT_OK(images_->Delete("test/a:1"));
  ASSERT_OK_AND_ASSIGN(GcReport dry, Collect(/*dry_run=*/true));
  EXPECT_EQ(Names(dry, GcItem::Kind::kSnapshot), std::set<std::string>{a.top_chain().str()});
  EXPECT_EQ(Names(dry, GcItem::Kind::kBlob).size(), 3u);
  // Everything is still there.
  for (const Descriptor& l : a.manifest.layers) EXPECT_TRUE(content_->Has(l.digest));
  EXPECT_TRUE(content_->Has(a.info.manifest));
  EXPECT_OK(snapshots_->Stat(KeySpace::kNative, a.top_chain().str()).status());
  EXPECT_TRUE(PathExists(a_top_dir));
  // And the real collection removes exactly what the dry run listed.
  ASSERT_OK_AND_ASSIGN(GcReport real, Collect());
  EXPECT_EQ(Names(real, GcItem::Kind::kSnapshot), Names(dry, GcItem::Kind::kSnapshot));
  EXPECT_EQ(Names(real, GcItem::Kind::kBlob), Names(dry, GcItem::Kind::kBlob));
  EXPECT_EQ(real.bytes, dry.bytes);
}

TEST_F(GcTest, ActiveSnapshotKeepsItsParentsUntilRemoved) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage a, images_->Resolve("test/a:1"));
  ASSERT_OK(snapshots_->Prepare(KeySpace::kNative, "work", a.top_chain().str(), {}).status());
  ASSERT_OK(images_->Delete("test/a:1"));
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  // The blobs only the image named go; the snapshot chain stays under "work".
  EXPECT_THAT(Names(r, GcItem::Kind::kSnapshot), IsEmpty());
  EXPECT_EQ(Names(r, GcItem::Kind::kBlob).size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto mounts, snapshots_->Mounts(KeySpace::kNative, "work"));
  std::string dir = tmp_.Sub("work");
  ASSERT_OK(MakeDirs(dir));
  ASSERT_OK(MountAll(mounts, dir));
  EXPECT_EQ(ReadFileOrDie(dir + "/a.txt"), "a\n");
  ASSERT_OK(Unmount(dir));

  ASSERT_OK(snapshots_->Remove(KeySpace::kNative, "work"));
  ASSERT_OK_AND_ASSIGN(GcReport after, Collect());
  EXPECT_EQ(Names(after, GcItem::Kind::kSnapshot), std::set<std::string>{a.top_chain().str()});
}

TEST_F(GcTest, CommittedSnapshotsGoLeavesFirst) {
  ASSERT_OK(snapshots_->Prepare(KeySpace::kNative, "p1", "", {}).status());
  ASSERT_OK(snapshots_->Commit(KeySpace::kNative, "c1", "p1", {}));
  ASSERT_OK(snapshots_->Prepare(KeySpace::kNative, "p2", "c1", {}).status());
  ASSERT_OK(snapshots_->Commit(KeySpace::kNative, "c2", "p2", {}));
  ASSERT_OK(snapshots_->Prepare(KeySpace::kNative, "p3", "c2", {}).status());
  ASSERT_OK(snapshots_->Commit(KeySpace::kNative, "c3", "p3", {}));
  // A root label keeps c2 and, through it, c1; c3 goes.
  ASSERT_OK_AND_ASSIGN(snapshotter::Info c2, snapshots_->Stat(KeySpace::kNative, "c2"));
  c2.labels["strata.io/gc.root"] = "";
  ASSERT_OK(snapshots_->Update(KeySpace::kNative, c2, {"labels"}).status());
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_EQ(Names(r, GcItem::Kind::kSnapshot), std::set<std::string>{"c3"});

  c2.labels.clear();
  ASSERT_OK(snapshots_->Update(KeySpace::kNative, c2, {"labels"}).status());
  ASSERT_OK_AND_ASSIGN(GcReport all, Collect());
  std::vector<std::string> order;
  for (const GcItem& i : all.removed) order.push_back(i.name);
  EXPECT_EQ(order, (std::vector<std::string>{"c2", "c1"}));  // leaves first
}

TEST_F(GcTest, LeaseHoldsWhatItHoldsUntilItExpires) {
  ASSERT_OK(leases_->Create("short", absl::Now() + absl::Seconds(1), {}).status());
  ASSERT_OK_AND_ASSIGN(Digest blob, content_->Put("held by a lease", "text/plain", "short"));
  ASSERT_OK(snapshots_->Prepare(KeySpace::kNative, "p", "", {}, "short").status());
  ASSERT_OK(snapshots_->Commit(KeySpace::kNative, "held", "p", {}, "short"));
  ASSERT_OK_AND_ASSIGN(GcReport kept, Collect());
  EXPECT_THAT(kept.removed, IsEmpty());
  EXPECT_TRUE(content_->Has(blob));

  absl::SleepFor(absl::Seconds(1.1));
  // An expired lease takes no new references...
  EXPECT_THAT(content_->Put("late", "text/plain", "short").status(),
              StatusIs(Code::kFailedPrecondition));
  // ...and the collection drops it with what it held.
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_EQ(Names(r, GcItem::Kind::kLease), std::set<std::string>{"short"});
  EXPECT_EQ(Names(r, GcItem::Kind::kSnapshot), std::set<std::string>{"held"});
  EXPECT_THAT(Names(r, GcItem::Kind::kBlob), Contains(blob.str()));
  EXPECT_FALSE(content_->Has(blob));
  EXPECT_THAT(leases_->Get("short").status(), StatusIs(Code::kNotFound));
}

TEST_F(GcTest, DeletingALeaseReleasesWhatItHeld) {
  ASSERT_OK(leases_->Create("l1", std::nullopt, {}).status());
  ASSERT_OK_AND_ASSIGN(Digest blob, content_->Put("x", "text/plain", "l1"));
  // Holding an existing blob works too, and a missing lease is an error.
  ASSERT_OK(content_->Hold(blob, "l1"));
  EXPECT_THAT(content_->Hold(blob, "no-such-lease"), StatusIs(Code::kNotFound));
  ASSERT_OK_AND_ASSIGN(GcReport kept, Collect());
  EXPECT_THAT(kept.removed, IsEmpty());
  ASSERT_OK(leases_->Delete("l1"));
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_EQ(Names(r, GcItem::Kind::kBlob), std::set<std::string>{blob.str()});
}

TEST_F(GcTest, ContainerdSnapshotsAreNeverCollectedAndKeepSharedLayers) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(ResolvedImage a, images_->Resolve("test/a:1"));
  // containerd's own chain, and a view of image a's layers in its key space.
  ASSERT_OK(snapshots_->Prepare(KeySpace::kContainerd, "k8s/1/extract", "", {}).status());
  ASSERT_OK(snapshots_->Commit(KeySpace::kContainerd, "k8s/2/layer", "k8s/1/extract", {}));
  std::string view = MountView(a.top_chain().str(), KeySpace::kContainerd);
  ASSERT_OK(images_->Delete("test/a:1"));

  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  // The native record of a's top layer goes; its directory stays, shared
  // with containerd's adopted record.
  EXPECT_EQ(Names(r, GcItem::Kind::kSnapshot), std::set<std::string>{a.top_chain().str()});
  for (const GcItem& i : r.removed) {
    if (i.kind == GcItem::Kind::kSnapshot) {
      EXPECT_EQ(i.bytes, 0) << "its directory stays";
    }
  }
  EXPECT_OK(snapshots_->Stat(KeySpace::kContainerd, "k8s/2/layer").status());
  EXPECT_OK(snapshots_->Stat(KeySpace::kContainerd, a.top_chain().str()).status());
  EXPECT_EQ(ReadFileOrDie(view + "/a.txt"), "a\n");
  EXPECT_OK(snapshots_->GetLayer(a.top_chain().str()).status());
}

TEST_F(GcTest, StaleIngestsGoUnlessLeasedOrRecent) {
  auto write = [&](const std::string& ref, const std::string& lease) {
    auto w = content_->OpenWriter(ref, lease);
    ASSERT_OK(w);
    ASSERT_OK((*w)->Write("partial", 7));
  };
  ASSERT_OK(leases_->Create("keep", std::nullopt, {}).status());
  write("old", "");
  write("old-leased", "keep");
  write("fresh", "");
  // Age two of them by two days.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> dirs, ListDir(tmp_.Sub("root/content/ingest")));
  for (const std::string& d : dirs) {
    std::string ref = ReadFileOrDie(tmp_.Sub("root/content/ingest/" + d + "/ref"));
    if (ref == "fresh") continue;
    struct timeval old[2] = {{::time(nullptr) - 86400 * 2, 0}, {::time(nullptr) - 86400 * 2, 0}};
    ASSERT_EQ(::utimes(tmp_.Sub("root/content/ingest/" + d + "/data").c_str(), old), 0);
  }
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect(false, absl::Hours(24)));
  EXPECT_EQ(Names(r, GcItem::Kind::kIngest), std::set<std::string>{"old"});
  EXPECT_THAT(content_->Status("old").status(), StatusIs(Code::kNotFound));
  EXPECT_OK(content_->Status("old-leased").status());
  EXPECT_OK(content_->Status("fresh").status());
}

TEST_F(GcTest, OrphanDirectoriesAndBlobFilesGo) {
  std::string orphan_dir = snapshots_->layout().SnapshotsDir() + "/zzzz";
  ASSERT_OK(MakeDirs(orphan_dir + "/f"));
  ::strata::testing::WriteFileOrDie(orphan_dir + "/f/junk", std::string(10000, 'x'));
  Digest stray = Sha256Of("stray");
  ::strata::testing::WriteFileOrDie(content_->BlobPath(stray), "stray");
  ASSERT_OK_AND_ASSIGN(GcReport dry, Collect(true));
  EXPECT_EQ(Names(dry, GcItem::Kind::kOrphanDir), std::set<std::string>{"snapshots/zzzz"});
  EXPECT_EQ(Names(dry, GcItem::Kind::kOrphanBlobFile), std::set<std::string>{stray.hex()});
  EXPECT_TRUE(PathExists(orphan_dir));
  ASSERT_OK_AND_ASSIGN(GcReport r, Collect());
  EXPECT_EQ(Names(r, GcItem::Kind::kOrphanDir), std::set<std::string>{"snapshots/zzzz"});
  EXPECT_FALSE(PathExists(orphan_dir));
  EXPECT_FALSE(PathExists(content_->BlobPath(stray)));
}

// Imports race collections: every import that returns leaves a whole image
// (the lease holds its pieces until the name is recorded), even when its
// layers were garbage a moment before.
TEST_F(GcTest, ImportsRacingCollectionsNeverLoseAnything) {
  std::string base = OneFileLayer("base.txt", "shared\n");
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop) EXPECT_OK(Collect().status());
  });
  // Stops the collector however the loop below ends (an ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      t.join();
    }
  } joiner{stop, collector};
  for (int i = 0; i < 30; ++i) {
    std::string name = "race/img:" + std::to_string(i % 3);
    std::string archive =
        BuildOciArchive({{name, {base, OneFileLayer("n.txt", std::to_string(i % 3))}}});
    absl::StatusOr<CallScope> call = CallScope::Begin(leases_, gc_, "");
    ASSERT_OK(call);
    ImportOptions options;
    options.lease = call->lease();
    MemorySource src(archive.data(), archive.size());
    ASSERT_OK(call->Finish(importer_->Import(&src, options)).status()) << "import " << i;
    std::string dir = MountImage(name);
    EXPECT_EQ(ReadFileOrDie(dir + "/n.txt"), std::to_string(i % 3));
    EXPECT_EQ(ReadFileOrDie(dir + "/base.txt"), "shared\n");
    UnmountAll();
    ASSERT_OK(images_->Delete(name));  // garbage again, for the next round to revive
  }
}

// A call that died with the daemon (its temporary lease still there) is
// rolled back at start-up like a failed one: what it made goes, the rest stays.
TEST_F(GcTest, StartUpRollsBackCallsThatDied) {
  ImportTwoImagesSharingABase();
  ASSERT_OK_AND_ASSIGN(meta::LeaseInfo died,
                       leases_->Create("", std::nullopt, {}, /*temporary=*/true));
  std::string base = OneFileLayer("base.txt", "shared\n");
  std::string archive =
      BuildOciArchive({{"test/died:1", {base, OneFileLayer("died.txt", "never named\n")}}});
  ImportOptions options;
  options.lease = died.id;
  MemorySource src(archive.data(), archive.size());
  ASSERT_OK_AND_ASSIGN(std::vector<ImportedImage> made, importer_->Import(&src, options));
  ASSERT_OK(images_->Delete("test/died:1"));  // as if the daemon died before naming it
  std::string died_top = made[0].chain_ids.back().str();
  std::string died_dir = LayerDir(died_top);
  ASSERT_TRUE(PathExists(died_dir));

  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, Store::Open(tmp_.Sub("root")));
  EXPECT_EQ(store_->calls_rolled_back, 1);
  snapshots_ = store_->snapshots.get();
  images_ = store_->images.get();
  EXPECT_THAT(snapshots_->GetLayer(died_top).status(), StatusIs(Code::kNotFound));
  EXPECT_FALSE(PathExists(died_dir));
  EXPECT_THAT(store_->content->Info(made[0].info.manifest).status(), StatusIs(Code::kNotFound));
  for (const char* name : {"test/a:1", "test/b:1"}) {
    std::string dir = MountImage(name);
    EXPECT_EQ(ReadFileOrDie(dir + "/base.txt"), "shared\n") << name;
  }
  ASSERT_OK_AND_ASSIGN(GcReport r, store_->gc->Collect(GcOptions()));
  EXPECT_THAT(r.removed, IsEmpty()) << "the rollback left garbage behind";
}

}  // namespace
}  // namespace strata::layerstore
