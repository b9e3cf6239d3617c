#include "api/call_lease.h"

namespace strata::api {

std::string LeaseOf(const grpc::ServerContext* ctx) {
  if (ctx == nullptr) return "";
  const auto& md = ctx->client_metadata();
  auto it = md.find("containerd-lease");
  return it == md.end() ? "" : std::string(it->second.data(), it->second.size());
}

absl::StatusOr<layerstore::CallScope> BeginCall(meta::Leases* leases,
                                                layerstore::GarbageCollector* gc,
                                                const grpc::ServerContext* ctx) {
  return layerstore::CallScope::Begin(leases, gc, LeaseOf(ctx));
}

Cancellation CancellationOf(grpc::ServerContext* ctx) {
  return Cancellation([ctx] { return ctx->IsCancelled(); });
}

}  // namespace strata::api
