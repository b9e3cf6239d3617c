// containerd.services.snapshots.v1.Snapshots over the snapshotter, in the
// containerd key space. Each handler: decode, call the core, encode, map the
// status. Thread-safe; runs on gRPC's sync-server threads.
#pragma once

#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.h"

namespace strata::api {

class ContainerdSnapshotsService final
    : public containerd::services::snapshots::v1::Snapshots::Service {
 public:
  // `snapshotter` must outlive the service.
  explicit ContainerdSnapshotsService(snapshotter::Snapshotter* snapshotter) : sn_(snapshotter) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Prepare(Ctx*, const containerd::services::snapshots::v1::PrepareSnapshotRequest*,
                       containerd::services::snapshots::v1::PrepareSnapshotResponse*) override;
  grpc::Status View(Ctx*, const containerd::services::snapshots::v1::ViewSnapshotRequest*,
                    containerd::services::snapshots::v1::ViewSnapshotResponse*) override;
  grpc::Status Mounts(Ctx*, const containerd::services::snapshots::v1::MountsRequest*,
                      containerd::services::snapshots::v1::MountsResponse*) override;
  grpc::Status Commit(Ctx*, const containerd::services::snapshots::v1::CommitSnapshotRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Remove(Ctx*, const containerd::services::snapshots::v1::RemoveSnapshotRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Stat(Ctx*, const containerd::services::snapshots::v1::StatSnapshotRequest*,
                    containerd::services::snapshots::v1::StatSnapshotResponse*) override;
  grpc::Status Update(Ctx*, const containerd::services::snapshots::v1::UpdateSnapshotRequest*,
                      containerd::services::snapshots::v1::UpdateSnapshotResponse*) override;
  grpc::Status List(
      Ctx*, const containerd::services::snapshots::v1::ListSnapshotsRequest*,
      grpc::ServerWriter<containerd::services::snapshots::v1::ListSnapshotsResponse>*) override;
  grpc::Status Usage(Ctx*, const containerd::services::snapshots::v1::UsageRequest*,
                     containerd::services::snapshots::v1::UsageResponse*) override;
  grpc::Status Cleanup(Ctx*, const containerd::services::snapshots::v1::CleanupRequest*,
                       google::protobuf::Empty*) override;

 private:
  snapshotter::Snapshotter* const sn_;
};

}  // namespace strata::api
