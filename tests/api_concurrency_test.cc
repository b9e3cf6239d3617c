// Many threads call the daemon's service objects at once, in process, while
// garbage collection runs back to back: native and containerd-space snapshot
// chains, views, labels, leases, imports, image gets and deletes, content
// queries. This is the concurrency test ThreadSanitizer runs (scripts/
// tsan.sh): the handlers and the core are all instrumented here, where
// through a real socket most of each call would pass inside the prebuilt,
// uninstrumented gRPC core, which TSan cannot follow.
//
// Checked: every call answers OK or one of the codes a race may legitimately
// give (NOT_FOUND for what another thread or GC just removed, ALREADY_EXISTS,
// FAILED_PRECONDITION for a parent in use); afterwards fsck is clean and every
// image still named mounts whole.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/content_service.h"
#include "api/images_service.h"
#include "api/leases_service.h"
#include "api/snapshots_service.h"
#include "layerstore/byte_source.h"
#include "layerstore/fsck.h"
#include "meta/leases.h"
#include "tests/oci_builder.h"
#include "tests/service_call.h"
#include "tests/store_test.h"

namespace strata::testing {
namespace {

namespace pb = ::containerd::services::snapshots::v1;

class ApiConcurrencyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    containerd_ = std::make_unique<api::ContainerdSnapshotsService>(
        snapshots_, snapshotter::KeySpace::kContainerd);
    native_ =
        std::make_unique<api::NativeSnapshotsService>(snapshots_, snapshotter::KeySpace::kNative);
    images_svc_ =
        std::make_unique<api::ImagesService>(importer_, images_, content_, snapshots_, committer_,
                                             leases_, gc_, layerstore::ImportOptions());
    leases_svc_ = std::make_unique<api::LeasesService>(leases_, nullptr);
    content_svc_ = std::make_unique<api::ContentService>(content_);
  }

  // Counts the call; fails the test on a code no race can explain.
  void Expect(const grpc::Status& s, const std::string& what) {
    calls_.fetch_add(1);
    switch (s.error_code()) {
      case grpc::StatusCode::OK:
        return;
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::ALREADY_EXISTS:
      case grpc::StatusCode::FAILED_PRECONDITION:
        expected_errors_.fetch_add(1);
        return;
      default:
        ADD_FAILURE() << what << ": " << s.error_code() << " " << s.error_message();
    }
  }

  // A snapshot request naming `key` (and `parent`, for those that have one).
  template <typename Req>
  static Req Key(const std::string& key) {
    Req r;
    r.set_key(key);
    return r;
  }
  template <typename Req>
  static Req KeyAbove(const std::string& key, const std::string& parent) {
    Req r = Key<Req>(key);
    r.set_parent(parent);
    return r;
  }
  static pb::CommitSnapshotRequest CommitAs(const std::string& key, const std::string& name) {
    pb::CommitSnapshotRequest r = Key<pb::CommitSnapshotRequest>(key);
    r.set_name(name);
    return r;
  }

  // A native chain: prepare, label, commit, view, stat, mounts, remove.
  void NativeRound(const std::string& tag) {
    using S = api::NativeSnapshotsService;
    S* s = native_.get();
    Expect(CallHandler(s, &S::Prepare, Key<pb::PrepareSnapshotRequest>("a-" + tag)),
           "native prepare");
    pb::CommitSnapshotRequest commit = CommitAs("a-" + tag, "c-" + tag);
    (*commit.mutable_labels())["containerd.io/gc.root"] = "x";
    Expect(CallHandler(s, &S::Commit, commit), "native commit");
    Expect(CallHandler(s, &S::View, KeyAbove<pb::ViewSnapshotRequest>("v-" + tag, "c-" + tag)),
           "native view");
    Expect(CallHandler(s, &S::Stat, Key<pb::StatSnapshotRequest>("c-" + tag)), "native stat");
    pb::UpdateSnapshotRequest update;
    update.mutable_info()->set_name("c-" + tag);
    (*update.mutable_info()->mutable_labels())["round"] = tag;
    update.mutable_update_mask()->add_paths("labels.round");
    Expect(CallHandler(s, &S::Update, update), "native update");
    Expect(CallHandler(s, &S::Mounts, Key<pb::MountsRequest>("v-" + tag)), "native mounts");
    Expect(CallHandler(s, &S::Usage, Key<pb::UsageRequest>("c-" + tag)), "native usage");
    for (const std::string& key : {"v-" + tag, "c-" + tag}) {
      Expect(CallHandler(s, &S::Remove, Key<pb::RemoveSnapshotRequest>(key)), "native remove");
    }
  }

  // containerd's way: an active snapshot above a shared committed parent.
  void ContainerdRound(const std::string& tag, int worker) {
    using S = api::ContainerdSnapshotsService;
    S* s = containerd_.get();
    const std::string parent = absl::StrCat("sha256:base-", worker % 2);
    if (!CallHandler(s, &S::Stat, Key<pb::StatSnapshotRequest>(parent)).ok()) {
      Expect(CallHandler(s, &S::Prepare, Key<pb::PrepareSnapshotRequest>("extract-" + tag)),
             "containerd prepare base");
      Expect(CallHandler(s, &S::Commit, CommitAs("extract-" + tag, parent)),
             "containerd commit base");
    }
    Expect(CallHandler(s, &S::Prepare, KeyAbove<pb::PrepareSnapshotRequest>("ctr-" + tag, parent)),
           "containerd prepare");
    Expect(CallHandler(s, &S::Remove, Key<pb::RemoveSnapshotRequest>("ctr-" + tag)),
           "containerd remove");
  }

  // An image imported under a lease, read, and now and then deleted.
  void ImageRound(const std::string& tag, int i) {
    using L = api::LeasesService;
    using I = api::ImagesService;
    strata::v1::Lease lease;
    Expect(CallHandler(leases_svc_.get(), &L::Create, strata::v1::CreateLeaseRequest(), &lease),
           "lease create");
    const std::string name = absl::StrCat("conc/img:", i % 4);
    std::string archive =
        BuildOciArchive({{name, {OneFileLayer("base.txt", "base"), OneFileLayer("top.txt", tag)}}});
    layerstore::MemorySource src(archive.data(), archive.size());
    layerstore::ImportOptions options;
    options.lease = lease.id();
    absl::Status imported = importer_->Import(&src, options).status();
    EXPECT_TRUE(imported.ok()) << imported;
    calls_.fetch_add(1);
    strata::v1::DeleteLeaseRequest del_lease;
    del_lease.set_id(lease.id());
    Expect(CallHandler(leases_svc_.get(), &L::Delete, del_lease), "lease delete");
    strata::v1::GetImageRequest get;
    get.set_name(name);
    strata::v1::Image img;
    Expect(CallHandler(images_svc_.get(), &I::Get, get, &img), "image get");
    for (const auto& layer : img.layers()) {
      strata::v1::ContentInfoRequest info;
      info.set_digest(layer.blob().digest());
      Expect(CallHandler(content_svc_.get(), &api::ContentService::Info, info), "content info");
    }
    Expect(CallHandler(images_svc_.get(), &I::List, strata::v1::ListImagesRequest()), "image list");
    if (i % 3 == 2) {
      strata::v1::DeleteImageRequest del;
      del.set_name(absl::StrCat("conc/img:", (i + 1) % 4));
      Expect(CallHandler(images_svc_.get(), &I::Delete, del), "image delete");
    }
  }

  std::unique_ptr<api::ContainerdSnapshotsService> containerd_;
  std::unique_ptr<api::NativeSnapshotsService> native_;
  std::unique_ptr<api::ImagesService> images_svc_;
  std::unique_ptr<api::LeasesService> leases_svc_;
  std::unique_ptr<api::ContentService> content_svc_;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> expected_errors_{0};
};

TEST_F(ApiConcurrencyTest, ThreadsAndCollectionsAtOnce) {
  const absl::Duration run = absl::Seconds(EnvInt("STRATA_API_SECONDS", 6));
  const absl::Time end = absl::Now() + run;
  constexpr int kWorkers = 8;
  std::atomic<int> collections{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; absl::Now() < end; ++i) {
        const std::string tag = absl::StrCat(w, "-", i);
        switch (w % 3) {
          case 0:
            NativeRound(tag);
            break;
          case 1:
            ContainerdRound(tag, w);
            break;
          default:
            ImageRound(tag, i);
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (absl::Now() < end) {
      absl::Status s = gc_->Collect(layerstore::GcOptions()).status();
      EXPECT_TRUE(s.ok()) << s;
      collections.fetch_add(1);
    }
  });
  for (std::thread& t : threads) t.join();
  std::printf("api concurrency: %lld calls (%lld expected errors), %d collections in %s\n",
              static_cast<long long>(calls_.load()),
              static_cast<long long>(expected_errors_.load()), collections.load(),
              absl::FormatDuration(run).c_str());
  EXPECT_GT(collections.load(), 0);

  ASSERT_OK_AND_ASSIGN(layerstore::FsckReport report,
                       layerstore::CheckStore(content_, *images_, snapshots_, /*repair=*/false));
  for (const auto& p : report.problems) ADD_FAILURE() << "fsck: " << p.what;
  for (int i = 0; i < 4; ++i) {
    const std::string name = absl::StrCat("conc/img:", i);
    if (!images_->Get(name).ok()) continue;
    std::string dir = MountImage(name);
    ASSERT_FALSE(dir.empty()) << name;
    EXPECT_EQ(ReadFileOrDie(dir + "/base.txt"), "base") << name;
    EXPECT_TRUE(Exists(dir + "/top.txt")) << name;
  }
}

}  // namespace
}  // namespace strata::testing
