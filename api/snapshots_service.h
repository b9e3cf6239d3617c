// The snapshotter API over one key space: containerd's service
// (containerd.services.snapshots.v1.Snapshots, the containerd key space) and
// strata's native one (strata.v1.Snapshots, same messages, native key space)
// are one implementation. Each handler: decode, call the core, encode, map
// the status. Thread-safe; runs on gRPC's sync-server threads.
#pragma once

#include "api/call_lease.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/snapshotter.h"
#include "strata/v1/snapshots.grpc.pb.h"

namespace strata::api {

namespace snapshots_pb = containerd::services::snapshots::v1;

template <typename Base>
class SnapshotsService final : public Base {
 public:
  // Asked before a Remove: an error refuses it (an image needs the layer).
  using RemoveGuard = std::function<absl::Status(const std::string& key)>;
  // Asked before a Prepare, with its labels: may make the target layer
  // present (registry/cri_layers.h). What it returns is kept until the
  // Prepare has answered (a hold on what it fetched).
  using BeforePrepare = std::function<std::shared_ptr<void>(const snapshotter::Labels& labels)>;
  // `snapshotter` must outlive the service. A call's `containerd-lease`
  // holds what it creates (native key space only). `on_remove` (optional)
  // hears of each removal; `guard` (optional) may refuse one.
  SnapshotsService(snapshotter::Snapshotter* snapshotter, snapshotter::KeySpace space,
                   DeletionHook on_remove = nullptr, RemoveGuard guard = nullptr,
                   BeforePrepare before_prepare = nullptr)
      : sn_(snapshotter),
        space_(space),
        on_remove_(std::move(on_remove)),
        guard_(std::move(guard)),
        before_prepare_(std::move(before_prepare)) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Prepare(Ctx*, const snapshots_pb::PrepareSnapshotRequest*,
                       snapshots_pb::PrepareSnapshotResponse*) override;
  grpc::Status View(Ctx*, const snapshots_pb::ViewSnapshotRequest*,
                    snapshots_pb::ViewSnapshotResponse*) override;
  grpc::Status Mounts(Ctx*, const snapshots_pb::MountsRequest*,
                      snapshots_pb::MountsResponse*) override;
  grpc::Status Commit(Ctx*, const snapshots_pb::CommitSnapshotRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Remove(Ctx*, const snapshots_pb::RemoveSnapshotRequest*,
                      google::protobuf::Empty*) override;
  grpc::Status Stat(Ctx*, const snapshots_pb::StatSnapshotRequest*,
                    snapshots_pb::StatSnapshotResponse*) override;
  grpc::Status Update(Ctx*, const snapshots_pb::UpdateSnapshotRequest*,
                      snapshots_pb::UpdateSnapshotResponse*) override;
  grpc::Status List(Ctx*, const snapshots_pb::ListSnapshotsRequest*,
                    grpc::ServerWriter<snapshots_pb::ListSnapshotsResponse>*) override;
  grpc::Status Usage(Ctx*, const snapshots_pb::UsageRequest*,
                     snapshots_pb::UsageResponse*) override;
  grpc::Status Cleanup(Ctx*, const snapshots_pb::CleanupRequest*,
                       google::protobuf::Empty*) override;

 private:
  snapshotter::Snapshotter* const sn_;
  const snapshotter::KeySpace space_;
  const DeletionHook on_remove_;
  const RemoveGuard guard_;
  const BeforePrepare before_prepare_;
};

using ContainerdSnapshotsService = SnapshotsService<snapshots_pb::Snapshots::Service>;
using NativeSnapshotsService = SnapshotsService<strata::v1::Snapshots::Service>;

}  // namespace strata::api
