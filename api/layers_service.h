// strata.v1.Layers: one layer blob streamed in (or already stored) and
// unpacked above a parent chain. Thread-safe.
#pragma once

#include "api/call_lease.h"
#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/squasher.h"
#include "layerstore/unpacker.h"
#include "strata/v1/layers.grpc.pb.h"

namespace strata::api {

class LayersService final : public strata::v1::Layers::Service {
 public:
  // All must outlive the service. What Pull and Diff make is held by the
  // call's `containerd-lease`; without one it is garbage once the call ends.
  // A failed call leaves nothing it made (layerstore/call_scope.h).
  // Without `squasher` (and `images` and `snapshots`, to answer with the
  // image), Merge is UNIMPLEMENTED.
  LayersService(layerstore::ContentStore* content, layerstore::Unpacker* unpacker,
                layerstore::Committer* committer, meta::Leases* leases,
                layerstore::GarbageCollector* gc, layerstore::Squasher* squasher = nullptr,
                layerstore::ImageStore* images = nullptr,
                snapshotter::Snapshotter* snapshots = nullptr)
      : content_(content),
        unpacker_(unpacker),
        committer_(committer),
        leases_(leases),
        gc_(gc),
        squasher_(squasher),
        images_(images),
        snapshots_(snapshots) {}

  grpc::Status Pull(grpc::ServerContext*, grpc::ServerReader<strata::v1::PullLayerRequest>*,
                    strata::v1::PullLayerResponse*) override;
  grpc::Status Diff(grpc::ServerContext*, const strata::v1::DiffLayerRequest*,
                    strata::v1::DiffLayerResponse*) override;
  grpc::Status Merge(grpc::ServerContext*, const strata::v1::MergeLayersRequest*,
                     strata::v1::Image*) override;

 private:
  // Pull's decoding: the header, then the data as bytes for the layer pipeline.
  absl::StatusOr<layerstore::Digest> PullUnderLease(
      grpc::ServerReader<strata::v1::PullLayerRequest>* r, const std::string& lease);

  layerstore::ContentStore* content_;
  layerstore::Unpacker* unpacker_;
  layerstore::Committer* committer_;
  meta::Leases* leases_;
  layerstore::GarbageCollector* gc_;
  layerstore::Squasher* squasher_;
  layerstore::ImageStore* images_;
  snapshotter::Snapshotter* snapshots_;
};

}  // namespace strata::api
