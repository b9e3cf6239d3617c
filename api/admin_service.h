// strata.v1.Admin: the store's self-check, garbage collection, disk use and
// the daemon's facts. Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "layerstore/store.h"
#include "strata/v1/admin.grpc.pb.h"

namespace strata::api {

class AdminService final : public strata::v1::Admin::Service {
 public:
  // What the daemon knows of itself, for Info.
  struct DaemonFacts {
    std::string socket;
    std::string config_file;  // "" when none was read
    std::string metrics_listen;
    std::string registry_listen;
    absl::Time started = absl::Now();
    // The ingest age that makes an ingest garbage when a request gives none;
    // read per call, as SIGHUP may change it.
    std::function<absl::Duration()> ingest_max_age = [] { return absl::Hours(24); };
  };

  // `store` must outlive the service.
  AdminService(layerstore::Store* store, DaemonFacts facts)
      : store_(store), facts_(std::move(facts)) {}

  grpc::Status Check(grpc::ServerContext*, const strata::v1::CheckRequest*,
                     strata::v1::CheckResponse*) override;
  grpc::Status GarbageCollect(grpc::ServerContext*, const strata::v1::GarbageCollectRequest*,
                              grpc::ServerWriter<strata::v1::GarbageCollectEvent>*) override;
  grpc::Status Prune(grpc::ServerContext*, const strata::v1::PruneRequest*,
                     grpc::ServerWriter<strata::v1::GarbageCollectEvent>*) override;
  grpc::Status Info(grpc::ServerContext*, const strata::v1::InfoRequest*,
                    strata::v1::InfoResponse*) override;
  grpc::Status DiskUsage(grpc::ServerContext*, const strata::v1::DiskUsageRequest*,
                         strata::v1::DiskUsageResponse*) override;

 private:
  layerstore::Store* const store_;
  const DaemonFacts facts_;
};

}  // namespace strata::api
