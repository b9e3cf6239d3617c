// strata.v1.Layers: one layer blob streamed in (or already stored) and
// unpacked above a parent chain. Thread-safe.
#pragma once

#include "layerstore/content_store.h"
#include "layerstore/unpacker.h"
#include "strata/v1/layers.grpc.pb.h"

namespace strata::api {

class LayersService final : public strata::v1::Layers::Service {
 public:
  // Both must outlive the service.
  LayersService(layerstore::ContentStore* content, layerstore::Unpacker* unpacker)
      : content_(content), unpacker_(unpacker) {}

  grpc::Status Pull(grpc::ServerContext*, grpc::ServerReader<strata::v1::PullLayerRequest>*,
                    strata::v1::PullLayerResponse*) override;

 private:
  layerstore::ContentStore* content_;
  layerstore::Unpacker* unpacker_;
};

}  // namespace strata::api
