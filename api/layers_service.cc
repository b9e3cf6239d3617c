#include "api/layers_service.h"

#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "api/grpc_status.h"

namespace strata::api {
namespace {

namespace pb = strata::v1;
using layerstore::Digest;

absl::StatusOr<layerstore::LayerToUnpack> FromHeader(const pb::PullLayerHeader& h, Digest* parent) {
  layerstore::LayerToUnpack layer;
  layer.blob.media_type = h.blob().media_type();
  absl::StatusOr<Digest> d = Digest::Parse(h.blob().digest());
  if (!d.ok()) return d.status();
  layer.blob.digest = *d;
  layer.blob.size = h.blob().size();
  absl::StatusOr<layerstore::Compression> c = layerstore::LayerCompression(layer.blob.media_type);
  if (!c.ok()) return c.status();
  d = Digest::Parse(h.diff_id());
  if (!d.ok()) return d.status();
  layer.diff_id = *d;
  if (!h.parent_chain_id().empty()) {
    d = Digest::Parse(h.parent_chain_id());
    if (!d.ok()) return d.status();
    *parent = *d;
  }
  return layer;
}

}  // namespace

grpc::Status LayersService::Pull(grpc::ServerContext* ctx,
                                 grpc::ServerReader<pb::PullLayerRequest>* r,
                                 pb::PullLayerResponse* resp) {
  absl::StatusOr<meta::CallLease> lease = HoldForCall(leases_, ctx);
  if (!lease.ok()) return ToGrpc(lease.status());
  pb::PullLayerRequest msg;
  if (!r->Read(&msg) || msg.part_case() != pb::PullLayerRequest::kHeader) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "pull: the first message must be a header");
  }
  Digest parent;
  absl::StatusOr<layerstore::LayerToUnpack> layer = FromHeader(msg.header(), &parent);
  if (!layer.ok()) return ToGrpc(layer.status());
  bool received = false;
  std::unique_ptr<layerstore::Writer> writer;
  while (r->Read(&msg)) {
    if (msg.part_case() != pb::PullLayerRequest::kData) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "pull: only data may follow the header");
    }
    if (!writer) {
      auto w = content_->OpenWriter(layerstore::ContentStore::InternalRef("pull"), lease->id());
      if (!w.ok()) return ToGrpc(w.status());
      writer = std::move(*w);
      if (absl::Status s = writer->Truncate(0); !s.ok()) return ToGrpc(s);
    }
    if (absl::Status s = writer->Write(msg.data().data(), msg.data().size()); !s.ok()) {
      return ToGrpc(s);
    }
    received = true;
  }
  if (received) {
    absl::StatusOr<layerstore::BlobInfo> info =
        writer->Commit(layer->blob.size, layer->blob.digest, {}, layer->blob.media_type);
    if (!info.ok() && !absl::IsAlreadyExists(info.status())) return ToGrpc(info.status());
  } else if (absl::Status held = content_->Hold(layer->blob.digest, lease->id()); !held.ok()) {
    if (!absl::IsNotFound(held)) return ToGrpc(held);
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("blob ", layer->blob.digest.str(),
                                     " is not stored; send its bytes after the header"));
  }
  absl::StatusOr<std::vector<Digest>> chains =
      unpacker_->UnpackChain({*layer}, parent, nullptr, lease->id());
  if (!chains.ok()) return ToGrpc(chains.status());
  resp->set_chain_id(chains->back().str());
  resp->set_snapshot_key(chains->back().str());
  return grpc::Status::OK;
}

grpc::Status LayersService::Diff(grpc::ServerContext* ctx, const pb::DiffLayerRequest* req,
                                 pb::DiffLayerResponse* resp) {
  absl::StatusOr<layerstore::Compression> c = layerstore::ParseCompression(req->compression());
  if (!c.ok()) return ToGrpc(c.status());
  absl::StatusOr<meta::CallLease> lease = HoldForCall(leases_, ctx);
  if (!lease.ok()) return ToGrpc(lease.status());
  absl::StatusOr<layerstore::CommittedLayer> layer =
      committer_->CommitLayer(snapshotter::KeySpace::kNative, req->snapshot_key(), *c, lease->id());
  if (!layer.ok()) return ToGrpc(layer.status());
  ToProto(layer->diff.blob, resp->mutable_blob());
  resp->set_diff_id(layer->diff.diff_id.str());
  resp->set_chain_id(layer->chain_id.str());
  return grpc::Status::OK;
}

}  // namespace strata::api
