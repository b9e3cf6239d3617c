#include "api/admin_service.h"

#include "api/grpc_status.h"
#include "layerstore/fsck.h"

namespace strata::api {

grpc::Status AdminService::Check(grpc::ServerContext*, const strata::v1::CheckRequest* req,
                                 strata::v1::CheckResponse* resp) {
  absl::StatusOr<layerstore::FsckReport> r =
      layerstore::CheckStore(content_, snapshots_, req->repair());
  if (!r.ok()) return ToGrpc(r.status());
  resp->set_blobs(r->blobs);
  resp->set_snapshots(r->snapshots);
  resp->set_layers(r->layers);
  resp->set_layer_files(r->layer_files);
  for (const auto& p : r->problems) {
    strata::v1::CheckProblem* out = resp->add_problems();
    out->set_what(p.what);
    out->set_repaired(p.repaired);
    out->set_note(p.note);
  }
  return grpc::Status::OK;
}

}  // namespace strata::api
