// A small synchronous client for containerd's snapshotter API, used by tests
// and the benchmark. Each call returns absl::Status with the wire's code.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"

namespace strata::testing {

namespace snapshots_pb = containerd::services::snapshots::v1;

class SnapshotsClient {
 public:
  // `snapshotter` goes in each request; `ns`, when set, goes in the
  // containerd-namespace metadata (containerd's own service requires it).
  SnapshotsClient(std::shared_ptr<grpc::Channel> channel, std::string snapshotter = "strata",
                  std::string ns = "");

  using Labels = std::map<std::string, std::string>;
  absl::StatusOr<std::vector<MountSpec>> Prepare(const std::string& key, const std::string& parent,
                                                 const Labels& labels = {});
  absl::StatusOr<std::vector<MountSpec>> View(const std::string& key, const std::string& parent,
                                              const Labels& labels = {});
  absl::StatusOr<std::vector<MountSpec>> Mounts(const std::string& key);
  absl::Status Commit(const std::string& name, const std::string& key, const Labels& labels = {});
  absl::Status Remove(const std::string& key);
  absl::StatusOr<snapshots_pb::Info> Stat(const std::string& key);
  absl::StatusOr<snapshots_pb::Info> Update(const snapshots_pb::Info& info,
                                            const std::vector<std::string>& paths);
  absl::StatusOr<std::vector<snapshots_pb::Info>> List(
      const std::vector<std::string>& filters = {});
  absl::StatusOr<snapshots_pb::UsageResponse> Usage(const std::string& key);
  absl::Status Cleanup();

  snapshots_pb::Snapshots::Stub* stub() { return stub_.get(); }
  void SetupContext(grpc::ClientContext* ctx) const;

 private:
  std::unique_ptr<snapshots_pb::Snapshots::Stub> stub_;
  std::string snapshotter_;
  std::string ns_;
};

absl::Status FromGrpc(const grpc::Status& s);

}  // namespace strata::testing
