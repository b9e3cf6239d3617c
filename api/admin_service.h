// strata.v1.Admin: the store's self-check. Thread-safe.
#pragma once

#include "layerstore/content_store.h"
#include "snapshotter/snapshotter.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::api {

class AdminService final : public strata::v1::Admin::Service {
 public:
  // Both must outlive the service.
  AdminService(layerstore::ContentStore* content, snapshotter::Snapshotter* snapshots)
      : content_(content), snapshots_(snapshots) {}

  grpc::Status Check(grpc::ServerContext*, const strata::v1::CheckRequest*,
                     strata::v1::CheckResponse*) override;

 private:
  layerstore::ContentStore* content_;
  snapshotter::Snapshotter* snapshots_;
};

}  // namespace strata::api
