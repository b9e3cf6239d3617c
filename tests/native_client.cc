#include "tests/native_client.h"

#include <algorithm>

#include "api/mount_proto.h"
#include "tests/snapshots_client.h"

namespace strata::testing {
namespace {

namespace pb = strata::v1;

}  // namespace

NativeClient::NativeClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(channel),
      images_(pb::Images::NewStub(channel)),
      snapshots_(pb::Snapshots::NewStub(channel)),
      content_(pb::Content::NewStub(channel)),
      leases_(pb::Leases::NewStub(channel)),
      admin_(pb::Admin::NewStub(channel)) {}

void NativeClient::Setup(grpc::ClientContext* ctx) const {
  if (!lease_.empty()) ctx->AddMetadata("containerd-lease", lease_);
}

absl::StatusOr<std::vector<pb::Image>> NativeClient::Import(const std::string& archive,
                                                            const std::string& name) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  auto stream = images_->Import(&ctx);
  pb::ImportRequest msg;
  msg.mutable_header()->set_name(name);
  stream->Write(msg);
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < archive.size(); off += kChunk) {
    pb::ImportRequest data;
    data.set_data(archive.substr(off, kChunk));
    if (!stream->Write(data)) break;
  }
  stream->WritesDone();
  std::vector<pb::Image> out;
  pb::ImportResponse resp;
  while (stream->Read(&resp)) {
    if (resp.has_image()) out.push_back(resp.image());
  }
  absl::Status s = FromGrpc(stream->Finish());
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<pb::Image> NativeClient::GetImage(const std::string& name) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::GetImageRequest req;
  req.set_name(name);
  pb::Image img;
  absl::Status s = FromGrpc(images_->Get(&ctx, req, &img));
  if (!s.ok()) return s;
  return img;
}

absl::StatusOr<std::vector<pb::Image>> NativeClient::ListImages() {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::ListImagesResponse resp;
  absl::Status s = FromGrpc(images_->List(&ctx, pb::ListImagesRequest(), &resp));
  if (!s.ok()) return s;
  return std::vector<pb::Image>(resp.images().begin(), resp.images().end());
}

absl::Status NativeClient::DeleteImage(const std::string& name) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::DeleteImageRequest req;
  req.set_name(name);
  google::protobuf::Empty resp;
  return FromGrpc(images_->Delete(&ctx, req, &resp));
}

absl::StatusOr<pb::Image> NativeClient::CommitImage(const std::string& key, const std::string& name,
                                                    const std::string& base) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::CommitImageRequest req;
  req.set_snapshot_key(key);
  req.set_name(name);
  req.set_base(base);
  pb::Image img;
  absl::Status s = FromGrpc(images_->Commit(&ctx, req, &img));
  if (!s.ok()) return s;
  return img;
}

absl::StatusOr<std::vector<MountSpec>> NativeClient::Prepare(const std::string& key,
                                                             const std::string& parent) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::PrepareSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  snapshots_pb::PrepareSnapshotResponse resp;
  absl::Status s = FromGrpc(snapshots_->Prepare(&ctx, req, &resp));
  if (!s.ok()) return s;
  return api::MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<MountSpec>> NativeClient::View(const std::string& key,
                                                          const std::string& parent) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::ViewSnapshotRequest req;
  req.set_key(key);
  req.set_parent(parent);
  snapshots_pb::ViewSnapshotResponse resp;
  absl::Status s = FromGrpc(snapshots_->View(&ctx, req, &resp));
  if (!s.ok()) return s;
  return api::MountsFromProto(resp.mounts());
}

absl::StatusOr<std::vector<MountSpec>> NativeClient::Mounts(const std::string& key) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::MountsRequest req;
  req.set_key(key);
  snapshots_pb::MountsResponse resp;
  absl::Status s = FromGrpc(snapshots_->Mounts(&ctx, req, &resp));
  if (!s.ok()) return s;
  return api::MountsFromProto(resp.mounts());
}

absl::Status NativeClient::Commit(const std::string& name, const std::string& key) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::CommitSnapshotRequest req;
  req.set_name(name);
  req.set_key(key);
  google::protobuf::Empty resp;
  return FromGrpc(snapshots_->Commit(&ctx, req, &resp));
}

absl::Status NativeClient::Remove(const std::string& key) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::RemoveSnapshotRequest req;
  req.set_key(key);
  google::protobuf::Empty resp;
  return FromGrpc(snapshots_->Remove(&ctx, req, &resp));
}

absl::Status NativeClient::Stat(const std::string& key) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  snapshots_pb::StatSnapshotRequest req;
  req.set_key(key);
  snapshots_pb::StatSnapshotResponse resp;
  return FromGrpc(snapshots_->Stat(&ctx, req, &resp));
}

absl::StatusOr<std::string> NativeClient::WriteBlob(const std::string& ref,
                                                    const std::string& data) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::WriteContentResponse resp;
  auto w = content_->Write(&ctx, &resp);
  // In pieces well under gRPC's message limit.
  constexpr size_t kChunk = 1 << 20;
  size_t offset = 0;
  do {
    pb::WriteContentRequest msg;
    if (offset == 0) {
      msg.set_ref(ref);
      msg.set_total(static_cast<int64_t>(data.size()));
    }
    size_t n = std::min(kChunk, data.size() - offset);
    msg.set_data(data.substr(offset, n));
    offset += n;
    msg.set_commit(offset == data.size());
    if (!w->Write(msg)) break;  // the daemon ended the call; Finish says why
  } while (offset < data.size());
  w->WritesDone();
  absl::Status s = FromGrpc(w->Finish());
  if (!s.ok()) return s;
  return resp.digest();
}

bool NativeClient::HasBlob(const std::string& digest) {
  grpc::ClientContext ctx;
  Setup(&ctx);
  pb::ContentInfoRequest req;
  req.set_digest(digest);
  pb::BlobInfo info;
  return content_->Info(&ctx, req, &info).ok();
}

absl::StatusOr<std::vector<std::string>> NativeClient::ListBlobs() {
  grpc::ClientContext ctx;
  Setup(&ctx);
  auto reader = content_->List(&ctx, pb::ListContentRequest());
  std::vector<std::string> out;
  pb::ListContentResponse resp;
  while (reader->Read(&resp)) {
    for (const auto& b : resp.info()) out.push_back(b.digest());
  }
  absl::Status s = FromGrpc(reader->Finish());
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> NativeClient::CreateLease(const std::string& id, int64_t ttl_seconds) {
  grpc::ClientContext ctx;
  pb::CreateLeaseRequest req;
  req.set_id(id);
  req.set_ttl_seconds(ttl_seconds);
  pb::Lease resp;
  absl::Status s = FromGrpc(leases_->Create(&ctx, req, &resp));
  if (!s.ok()) return s;
  return resp.id();
}

absl::Status NativeClient::DeleteLease(const std::string& id) {
  grpc::ClientContext ctx;
  pb::DeleteLeaseRequest req;
  req.set_id(id);
  pb::DeleteLeaseResponse resp;
  return FromGrpc(leases_->Delete(&ctx, req, &resp));
}

absl::StatusOr<pb::GcSummary> NativeClient::Collect(bool dry_run) {
  grpc::ClientContext ctx;
  pb::GarbageCollectRequest req;
  req.set_dry_run(dry_run);
  auto reader = admin_->GarbageCollect(&ctx, req);
  pb::GarbageCollectEvent ev;
  pb::GcSummary summary;
  while (reader->Read(&ev)) {
    if (ev.has_summary()) summary = ev.summary();
  }
  absl::Status s = FromGrpc(reader->Finish());
  if (!s.ok()) return s;
  return summary;
}

absl::StatusOr<pb::CheckResponse> NativeClient::Check(bool repair) {
  grpc::ClientContext ctx;
  pb::CheckRequest req;
  req.set_repair(repair);
  pb::CheckResponse resp;
  absl::Status s = FromGrpc(admin_->Check(&ctx, req, &resp));
  if (!s.ok()) return s;
  return resp;
}

}  // namespace strata::testing
