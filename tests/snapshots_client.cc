#include "tests/snapshots_client.h"

#include "api/mount_proto.h"

namespace strata::testing {
namespace {}  // namespace

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

SnapshotsClient::SnapshotsClient(std::shared_ptr<grpc::Channel> channel, std::string snapshotter,
                                 std::string ns)
    : stub_(snapshots_pb::Snapshots::NewStub(channel)),
      snapshotter_(std::move(snapshotter)),
      ns_(std::move(ns)) {}

void SnapshotsClient::SetupContext(grpc::ClientContext* ctx) const {
  if (!ns_.empty()) ctx->AddMetadata("containerd-namespace", ns_);
}

absl::StatusOr<std::vector<MountSpec>> SnapshotsClient::Prepare(const std::string& key,
                                                                const std::string& parent,
                                                                const Labels& labels) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::PrepareSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  req.set_parent(parent);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  snapshots_pb::PrepareSnapshotResponse resp;
  grpc::Status s = stub_->Prepare(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return api::MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<MountSpec>> SnapshotsClient::View(const std::string& key,
                                                             const std::string& parent,
                                                             const Labels& labels) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::ViewSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  req.set_parent(parent);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  snapshots_pb::ViewSnapshotResponse resp;
  grpc::Status s = stub_->View(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return api::MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<MountSpec>> SnapshotsClient::Mounts(const std::string& key) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::MountsRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  snapshots_pb::MountsResponse resp;
  grpc::Status s = stub_->Mounts(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return api::MountsFromProto(resp.mounts());
}

absl::Status SnapshotsClient::Commit(const std::string& name, const std::string& key,
                                     const Labels& labels) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::CommitSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_name(name);
  req.set_key(key);
  req.mutable_labels()->insert(labels.begin(), labels.end());
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Commit(&ctx, req, &resp));
}

absl::Status SnapshotsClient::Remove(const std::string& key) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Remove(&ctx, req, &resp));
}

absl::StatusOr<snapshots_pb::Info> SnapshotsClient::Stat(const std::string& key) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::StatSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  snapshots_pb::StatSnapshotResponse resp;
  grpc::Status s = stub_->Stat(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp.info();
}

absl::StatusOr<snapshots_pb::Info> SnapshotsClient::Update(const snapshots_pb::Info& info,
                                                           const std::vector<std::string>& paths) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::UpdateSnapshotRequest req;
  req.set_snapshotter(snapshotter_);
  *req.mutable_info() = info;
  for (const std::string& p : paths) req.mutable_update_mask()->add_paths(p);
  snapshots_pb::UpdateSnapshotResponse resp;
  grpc::Status s = stub_->Update(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp.info();
}

absl::StatusOr<std::vector<snapshots_pb::Info>> SnapshotsClient::List(
    const std::vector<std::string>& filters) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::ListSnapshotsRequest req;
  req.set_snapshotter(snapshotter_);
  for (const std::string& f : filters) req.add_filters(f);
  auto reader = stub_->List(&ctx, req);
  std::vector<snapshots_pb::Info> out;
  snapshots_pb::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) {
    for (const auto& i : resp.info()) out.push_back(i);
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(s);
  return out;
}

absl::StatusOr<snapshots_pb::UsageResponse> SnapshotsClient::Usage(const std::string& key) {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::UsageRequest req;
  req.set_snapshotter(snapshotter_);
  req.set_key(key);
  snapshots_pb::UsageResponse resp;
  grpc::Status s = stub_->Usage(&ctx, req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::Status SnapshotsClient::Cleanup() {
  grpc::ClientContext ctx;
  SetupContext(&ctx);
  snapshots_pb::CleanupRequest req;
  req.set_snapshotter(snapshotter_);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Cleanup(&ctx, req, &resp));
}

}  // namespace strata::testing
