// A small synchronous client for strata's own API (strata.v1), for tests and
// benchmarks: every call can carry a lease (`containerd-lease` metadata) and
// returns absl::Status with the wire's code.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "strata/v1/admin.grpc.pb.h"
#include "strata/v1/content.grpc.pb.h"
#include "strata/v1/images.grpc.pb.h"
#include "strata/v1/leases.grpc.pb.h"
#include "strata/v1/snapshots.grpc.pb.h"

namespace strata::testing {

class NativeClient {
 public:
  explicit NativeClient(std::shared_ptr<grpc::Channel> channel);

  // Calls after this carry `lease` ("" for none).
  void set_lease(std::string lease) { lease_ = std::move(lease); }

  absl::StatusOr<std::vector<strata::v1::Image>> Import(const std::string& archive,
                                                        const std::string& name = "");
  absl::StatusOr<strata::v1::Image> GetImage(const std::string& name);
  absl::StatusOr<std::vector<strata::v1::Image>> ListImages();
  absl::Status DeleteImage(const std::string& name);
  absl::StatusOr<strata::v1::Image> CommitImage(const std::string& key, const std::string& name,
                                                const std::string& base);

  absl::StatusOr<std::vector<MountSpec>> Prepare(const std::string& key, const std::string& parent);
  absl::StatusOr<std::vector<MountSpec>> View(const std::string& key, const std::string& parent);
  absl::StatusOr<std::vector<MountSpec>> Mounts(const std::string& key);
  absl::Status Commit(const std::string& name, const std::string& key);
  absl::Status Remove(const std::string& key);
  absl::Status Stat(const std::string& key);

  // Stores `data` as a blob; returns its digest.
  absl::StatusOr<std::string> WriteBlob(const std::string& ref, const std::string& data);
  bool HasBlob(const std::string& digest);
  absl::StatusOr<std::vector<std::string>> ListBlobs();

  absl::StatusOr<std::string> CreateLease(const std::string& id, int64_t ttl_seconds = 0);
  absl::Status DeleteLease(const std::string& id);

  // Collects garbage; returns the summary (items are counted, not kept).
  absl::StatusOr<strata::v1::GcSummary> Collect(bool dry_run = false);
  absl::StatusOr<strata::v1::CheckResponse> Check(bool repair = false);

 private:
  void Setup(grpc::ClientContext* ctx) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<strata::v1::Images::Stub> images_;
  std::unique_ptr<strata::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<strata::v1::Content::Stub> content_;
  std::unique_ptr<strata::v1::Leases::Stub> leases_;
  std::unique_ptr<strata::v1::Admin::Stub> admin_;
  std::string lease_;
};

}  // namespace strata::testing
