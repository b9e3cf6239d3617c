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
    images_svc_ = std::make_unique<api::ImagesService>(
        importer_, images_, content_, snapshots_, committer_, leases_, layerstore::ImportOptions());
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

  // A native chain: prepare, label, commit, view, stat, mounts, remove.
  void NativeRound(const std::string& tag) {
    grpc::ServerContext ctx;
    pb::PrepareSnapshotRequest prep;
    prep.set_key("a-" + tag);
    pb::PrepareSnapshotResponse prep_resp;
    Expect(native_->Prepare(&ctx, &prep, &prep_resp), "native prepare");
    pb::CommitSnapshotRequest commit;
    commit.set_key("a-" + tag);
    commit.set_name("c-" + tag);
    (*commit.mutable_labels())["containerd.io/gc.root"] = "x";
    google::protobuf::Empty empty;
    Expect(native_->Commit(&ctx, &commit, &empty), "native commit");
    pb::ViewSnapshotRequest view;
    view.set_key("v-" + tag);
    view.set_parent("c-" + tag);
    pb::ViewSnapshotResponse view_resp;
    Expect(native_->View(&ctx, &view, &view_resp), "native view");
    pb::StatSnapshotRequest stat;
    stat.set_key("c-" + tag);
    pb::StatSnapshotResponse stat_resp;
    Expect(native_->Stat(&ctx, &stat, &stat_resp), "native stat");
    pb::UpdateSnapshotRequest update;
    update.mutable_info()->set_name("c-" + tag);
    (*update.mutable_info()->mutable_labels())["round"] = tag;
    update.mutable_update_mask()->add_paths("labels.round");
    pb::UpdateSnapshotResponse update_resp;
    Expect(native_->Update(&ctx, &update, &update_resp), "native update");
    pb::MountsRequest mounts;
    mounts.set_key("v-" + tag);
    pb::MountsResponse mounts_resp;
    Expect(native_->Mounts(&ctx, &mounts, &mounts_resp), "native mounts");
    pb::UsageRequest usage;
    usage.set_key("c-" + tag);
    pb::UsageResponse usage_resp;
    Expect(native_->Usage(&ctx, &usage, &usage_resp), "native usage");
    for (const std::string& key : {"v-" + tag, "c-" + tag}) {
      pb::RemoveSnapshotRequest rm;
      rm.set_key(key);
      Expect(native_->Remove(&ctx, &rm, &empty), "native remove");
    }
  }

  // containerd's way: an active snapshot above a shared committed parent.
  void ContainerdRound(const std::string& tag, int worker) {
    grpc::ServerContext ctx;
    google::protobuf::Empty empty;
    const std::string parent = absl::StrCat("sha256:base-", worker % 2);
    pb::StatSnapshotRequest stat;
    stat.set_key(parent);
    pb::StatSnapshotResponse stat_resp;
    if (!containerd_->Stat(&ctx, &stat, &stat_resp).ok()) {
      pb::PrepareSnapshotRequest prep;
      prep.set_key("extract-" + tag);
      pb::PrepareSnapshotResponse resp;
      Expect(containerd_->Prepare(&ctx, &prep, &resp), "containerd prepare base");
      pb::CommitSnapshotRequest commit;
      commit.set_key("extract-" + tag);
      commit.set_name(parent);
      Expect(containerd_->Commit(&ctx, &commit, &empty), "containerd commit base");
    }
    pb::PrepareSnapshotRequest prep;
    prep.set_key("ctr-" + tag);
    prep.set_parent(parent);
    pb::PrepareSnapshotResponse resp;
    Expect(containerd_->Prepare(&ctx, &prep, &resp), "containerd prepare");
    pb::RemoveSnapshotRequest rm;
    rm.set_key("ctr-" + tag);
    Expect(containerd_->Remove(&ctx, &rm, &empty), "containerd remove");
  }

  // An image imported under a lease, read, and now and then deleted.
  void ImageRound(const std::string& tag, int i) {
    grpc::ServerContext ctx;
    strata::v1::CreateLeaseRequest lease_req;
    strata::v1::Lease lease;
    Expect(leases_svc_->Create(&ctx, &lease_req, &lease), "lease create");
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
    strata::v1::DeleteLeaseResponse del_lease_resp;
    Expect(leases_svc_->Delete(&ctx, &del_lease, &del_lease_resp), "lease delete");
    strata::v1::GetImageRequest get;
    get.set_name(name);
    strata::v1::Image img;
    Expect(images_svc_->Get(&ctx, &get, &img), "image get");
    for (const auto& layer : img.layers()) {
      strata::v1::ContentInfoRequest info;
      info.set_digest(layer.blob().digest());
      strata::v1::BlobInfo blob;
      Expect(content_svc_->Info(&ctx, &info, &blob), "content info");
    }
    strata::v1::ListImagesRequest list;
    strata::v1::ListImagesResponse list_resp;
    Expect(images_svc_->List(&ctx, &list, &list_resp), "image list");
    if (i % 3 == 2) {
      strata::v1::DeleteImageRequest del;
      del.set_name(absl::StrCat("conc/img:", (i + 1) % 4));
      Expect(images_svc_->Delete(&ctx, &del, &empty_), "image delete");
    }
  }

  std::unique_ptr<api::ContainerdSnapshotsService> containerd_;
  std::unique_ptr<api::NativeSnapshotsService> native_;
  std::unique_ptr<api::ImagesService> images_svc_;
  std::unique_ptr<api::LeasesService> leases_svc_;
  std::unique_ptr<api::ContentService> content_svc_;
  google::protobuf::Empty empty_;
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
                       layerstore::CheckStore(content_, snapshots_, /*repair=*/false));
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
