// strata.v1.Admin: the store's self-check and garbage collection. Thread-safe.
#pragma once

#include "absl/time/time.h"
#include "layerstore/content_store.h"
#include "layerstore/gc.h"
#include "layerstore/image_store.h"
#include "snapshotter/snapshotter.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::api {

class AdminService final : public strata::v1::Admin::Service {
 public:
  // All must outlive the service. `ingest_max_age` applies when a request
  // gives none.
  AdminService(layerstore::ContentStore* content, layerstore::ImageStore* images,
               snapshotter::Snapshotter* snapshots, layerstore::GarbageCollector* gc,
               absl::Duration ingest_max_age)
      : content_(content),
        images_(images),
        snapshots_(snapshots),
        gc_(gc),
        ingest_max_age_(ingest_max_age) {}

  grpc::Status Check(grpc::ServerContext*, const strata::v1::CheckRequest*,
                     strata::v1::CheckResponse*) override;
  grpc::Status GarbageCollect(grpc::ServerContext*, const strata::v1::GarbageCollectRequest*,
                              grpc::ServerWriter<strata::v1::GarbageCollectEvent>*) override;
  grpc::Status Info(grpc::ServerContext*, const strata::v1::InfoRequest*,
                    strata::v1::InfoResponse*) override;
  grpc::Status DiskUsage(grpc::ServerContext*, const strata::v1::DiskUsageRequest*,
                         strata::v1::DiskUsageResponse*) override;

 private:
  layerstore::ContentStore* content_;
  layerstore::ImageStore* images_;
  snapshotter::Snapshotter* snapshots_;
  layerstore::GarbageCollector* gc_;
  const absl::Duration ingest_max_age_;
};

}  // namespace strata::api
