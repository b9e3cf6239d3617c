#include "api/layers_service.h"

#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "api/grpc_status.h"
#include "api/request_data_source.h"
#include "common/status_util.h"
#include "layerstore/layer_pipeline.h"

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
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  absl::StatusOr<Digest> chain = call->Finish(PullUnderLease(r, call->lease()));
  if (!chain.ok()) return ToGrpc(chain.status());
  resp->set_chain_id(chain->str());
  resp->set_snapshot_key(chain->str());
  return grpc::Status::OK;
}

absl::StatusOr<Digest> LayersService::PullUnderLease(grpc::ServerReader<pb::PullLayerRequest>* r,
                                                     const std::string& lease) {
  pb::PullLayerRequest msg;
  if (!r->Read(&msg) || msg.part_case() != pb::PullLayerRequest::kHeader) {
    return absl::InvalidArgumentError("pull: the first message must be a header");
  }
  Digest parent;
  STRATA_ASSIGN_OR_RETURN(layerstore::LayerToUnpack layer, FromHeader(msg.header(), &parent));
  RequestDataSource<pb::PullLayerRequest> bytes(r, "pull");
  return layerstore::StoreAndUnpackLayer(content_, unpacker_, layer, parent, &bytes, lease);
}

grpc::Status LayersService::Diff(grpc::ServerContext* ctx, const pb::DiffLayerRequest* req,
                                 pb::DiffLayerResponse* resp) {
  absl::StatusOr<layerstore::Compression> c = layerstore::ParseCompression(req->compression());
  if (!c.ok()) return ToGrpc(c.status());
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  absl::StatusOr<layerstore::CommittedLayer> layer = call->Finish(committer_->CommitLayer(
      snapshotter::KeySpace::kNative, req->snapshot_key(), *c, call->lease(), CancellationOf(ctx)));
  if (!layer.ok()) return ToGrpc(layer.status());
  ToProto(layer->diff.blob, resp->mutable_blob());
  resp->set_diff_id(layer->diff.diff_id.str());
  resp->set_chain_id(layer->chain_id.str());
  return grpc::Status::OK;
}

grpc::Status LayersService::Merge(grpc::ServerContext* ctx, const pb::MergeLayersRequest* req,
                                  pb::Image* resp) {
  if (squasher_ == nullptr) return ToGrpc(absl::UnimplementedError("merge is not served here"));
  absl::StatusOr<layerstore::Compression> c = layerstore::ParseCompression(req->compression());
  if (!c.ok()) return ToGrpc(c.status());
  absl::StatusOr<layerstore::CallScope> call = BeginCall(leases_, gc_, ctx);
  if (!call.ok()) return ToGrpc(call.status());
  absl::StatusOr<layerstore::ImageInfo> info = call->Finish(squasher_->Squash(
      req->image(), req->name(), req->layers(), *c, call->lease(), CancellationOf(ctx)));
  if (!info.ok()) return ToGrpc(info.status());
  absl::StatusOr<layerstore::ResolvedImage> r = images_->Resolve(*info);
  if (!r.ok()) return ToGrpc(r.status());
  ToProto(*r, *snapshots_, resp);
  return grpc::Status::OK;
}

}  // namespace strata::api
