#include "api/snapshots_service.h"

#include <google/protobuf/util/time_util.h>

#include "absl/time/time.h"
#include "api/convert.h"
#include "api/grpc_status.h"
#include "api/mount_proto.h"

namespace strata::api {
namespace {

namespace pb = snapshots_pb;
using snapshotter::KeySpace;
using snapshotter::Kind;

// containerd's own server sends List results in batches of this many.
constexpr int kListBatch = 100;

snapshotter::Labels FromProto(const google::protobuf::Map<std::string, std::string>& m) {
  return snapshotter::Labels(m.begin(), m.end());
}

void ToProto(const snapshotter::Info& info, pb::Info* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(static_cast<pb::Kind>(static_cast<int>(info.kind)));
  api::ToProto(info.created, out->mutable_created_at());
  api::ToProto(info.updated, out->mutable_updated_at());
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
}

snapshotter::Info FromProto(const pb::Info& in) {
  snapshotter::Info info;
  info.name = in.name();
  info.parent = in.parent();
  info.kind = static_cast<Kind>(static_cast<int>(in.kind()));
  info.labels = FromProto(in.labels());
  return info;
}

template <typename Response>
grpc::Status MountsResponse(const absl::StatusOr<std::vector<MountSpec>>& mounts, Response* resp) {
  if (!mounts.ok()) return ToGrpc(mounts.status());
  MountsToProto(*mounts, resp->mutable_mounts());
  return grpc::Status::OK;
}

}  // namespace

template <typename Base>
grpc::Status SnapshotsService<Base>::Prepare(Ctx* ctx, const pb::PrepareSnapshotRequest* req,
                                             pb::PrepareSnapshotResponse* resp) {
  snapshotter::Labels labels = FromProto(req->labels());
  std::shared_ptr<void> held = before_prepare_ ? before_prepare_(labels) : nullptr;
  return MountsResponse(sn_->Prepare(space_, req->key(), req->parent(), labels, LeaseOf(ctx)),
                        resp);
}

template <typename Base>
grpc::Status SnapshotsService<Base>::View(Ctx* ctx, const pb::ViewSnapshotRequest* req,
                                          pb::ViewSnapshotResponse* resp) {
  return MountsResponse(
      sn_->View(space_, req->key(), req->parent(), FromProto(req->labels()), LeaseOf(ctx)), resp);
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Mounts(Ctx*, const pb::MountsRequest* req,
                                            pb::MountsResponse* resp) {
  return MountsResponse(sn_->Mounts(space_, req->key()), resp);
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Commit(Ctx* ctx, const pb::CommitSnapshotRequest* req,
                                            google::protobuf::Empty*) {
  return ToGrpc(
      sn_->Commit(space_, req->name(), req->key(), FromProto(req->labels()), LeaseOf(ctx)));
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Remove(Ctx*, const pb::RemoveSnapshotRequest* req,
                                            google::protobuf::Empty*) {
  absl::Status s = guard_ ? guard_(req->key()) : absl::OkStatus();
  if (s.ok()) s = sn_->Remove(space_, req->key());
  if (s.ok() && on_remove_) on_remove_();
  return ToGrpc(s);
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Stat(Ctx*, const pb::StatSnapshotRequest* req,
                                          pb::StatSnapshotResponse* resp) {
  absl::StatusOr<snapshotter::Info> info = sn_->Stat(space_, req->key());
  if (!info.ok()) return ToGrpc(info.status());
  ToProto(*info, resp->mutable_info());
  return grpc::Status::OK;
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Update(Ctx*, const pb::UpdateSnapshotRequest* req,
                                            pb::UpdateSnapshotResponse* resp) {
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  absl::StatusOr<snapshotter::Info> info = sn_->Update(space_, FromProto(req->info()), paths);
  if (!info.ok()) return ToGrpc(info.status());
  ToProto(*info, resp->mutable_info());
  return grpc::Status::OK;
}

template <typename Base>
grpc::Status SnapshotsService<Base>::List(Ctx* ctx, const pb::ListSnapshotsRequest* req,
                                          grpc::ServerWriter<pb::ListSnapshotsResponse>* w) {
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  pb::ListSnapshotsResponse batch;
  bool stream_ok = true;
  absl::Status status = sn_->Walk(space_, filters, [&](const snapshotter::Info& info) {
    ToProto(info, batch.add_info());
    if (batch.info_size() >= kListBatch) {
      stream_ok = !ctx->IsCancelled() && w->Write(batch);
      batch.Clear();
    }
    return stream_ok;
  });
  if (!status.ok()) return ToGrpc(status);
  if (!stream_ok) return grpc::Status(grpc::StatusCode::CANCELLED, "list: client went away");
  if (batch.info_size() > 0 && !w->Write(batch)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "list: client went away");
  }
  return grpc::Status::OK;
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Usage(Ctx*, const pb::UsageRequest* req,
                                           pb::UsageResponse* resp) {
  absl::StatusOr<snapshotter::Usage> usage = sn_->GetUsage(space_, req->key());
  if (!usage.ok()) return ToGrpc(usage.status());
  resp->set_size(usage->size);
  resp->set_inodes(usage->inodes);
  return grpc::Status::OK;
}

template <typename Base>
grpc::Status SnapshotsService<Base>::Cleanup(Ctx*, const pb::CleanupRequest*,
                                             google::protobuf::Empty*) {
  return ToGrpc(sn_->Cleanup());
}

template class SnapshotsService<containerd::services::snapshots::v1::Snapshots::Service>;
template class SnapshotsService<strata::v1::Snapshots::Service>;

}  // namespace strata::api
