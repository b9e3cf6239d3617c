// strata.v1.Layers: one layer blob streamed in (or already stored) and
// unpacked above a parent chain. Thread-safe.
#pragma once

#include "api/call_lease.h"
#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/unpacker.h"
#include "strata/v1/layers.grpc.pb.h"

namespace strata::api {

class LayersService final : public strata::v1::Layers::Service {
 public:
  // All must outlive the service. What Pull and Diff make is held by the
  // call's `containerd-lease`; without one it is garbage once the call ends.
  // A failed call leaves nothing it made (layerstore/call_scope.h).
  LayersService(layerstore::ContentStore* content, layerstore::Unpacker* unpacker,
                layerstore::Committer* committer, meta::Leases* leases,
                layerstore::GarbageCollector* gc)
      : content_(content), unpacker_(unpacker), committer_(committer), leases_(leases), gc_(gc) {}

  grpc::Status Pull(grpc::ServerContext*, grpc::ServerReader<strata::v1::PullLayerRequest>*,
                    strata::v1::PullLayerResponse*) override;
  grpc::Status Diff(grpc::ServerContext*, const strata::v1::DiffLayerRequest*,
                    strata::v1::DiffLayerResponse*) override;

 private:
  // Pull's decoding: the header, then the data as bytes for the layer pipeline.
  absl::StatusOr<layerstore::Digest> PullUnderLease(
      grpc::ServerReader<strata::v1::PullLayerRequest>* r, const std::string& lease);

  layerstore::ContentStore* content_;
  layerstore::Unpacker* unpacker_;
  layerstore::Committer* committer_;
  meta::Leases* leases_;
  layerstore::GarbageCollector* gc_;
};

}  // namespace strata::api
