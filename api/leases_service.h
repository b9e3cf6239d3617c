// strata.v1.Leases over meta::Leases. Thread-safe.
#pragma once

#include "api/call_lease.h"
#include "meta/leases.h"
#include "strata/v1/leases.grpc.pb.h"

namespace strata::api {

class LeasesService final : public strata::v1::Leases::Service {
 public:
  // `leases` must outlive the service; `on_delete` may be empty.
  LeasesService(meta::Leases* leases, DeletionHook on_delete)
      : leases_(leases), on_delete_(std::move(on_delete)) {}

  using Ctx = grpc::ServerContext;
  grpc::Status Create(Ctx*, const strata::v1::CreateLeaseRequest*, strata::v1::Lease*) override;
  grpc::Status List(Ctx*, const strata::v1::ListLeasesRequest*,
                    strata::v1::ListLeasesResponse*) override;
  grpc::Status Delete(Ctx*, const strata::v1::DeleteLeaseRequest*,
                      strata::v1::DeleteLeaseResponse*) override;

 private:
  meta::Leases* leases_;
  DeletionHook on_delete_;
};

}  // namespace strata::api
