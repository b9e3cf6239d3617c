// strata.v1.Layers: one layer blob streamed in (or already stored) and
// unpacked above a parent chain. Thread-safe.
#pragma once

#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/unpacker.h"
#include "strata/v1/layers.grpc.pb.h"

namespace strata::api {

class LayersService final : public strata::v1::Layers::Service {
 public:
  // Both must outlive the service.
  LayersService(layerstore::ContentStore* content, layerstore::Unpacker* unpacker,
                layerstore::Committer* committer)
      : content_(content), unpacker_(unpacker), committer_(committer) {}

  grpc::Status Pull(grpc::ServerContext*, grpc::ServerReader<strata::v1::PullLayerRequest>*,
                    strata::v1::PullLayerResponse*) override;
  grpc::Status Diff(grpc::ServerContext*, const strata::v1::DiffLayerRequest*,
                    strata::v1::DiffLayerResponse*) override;

 private:
  layerstore::ContentStore* content_;
  layerstore::Unpacker* unpacker_;
  layerstore::Committer* committer_;
};

}  // namespace strata::api
