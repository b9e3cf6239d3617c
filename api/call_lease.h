// Leases as calls carry them: the `containerd-lease` gRPC metadata key.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "layerstore/call_scope.h"
#include "meta/leases.h"

namespace strata::api {

// The lease a call names in its metadata, or empty.
std::string LeaseOf(const grpc::ServerContext* ctx);

// What a multi-step call (import, commit, pull, diff) runs under: a lease of
// its own, handed to the lease the call names when it succeeds, rolled back
// when it fails (layerstore/call_scope.h).
absl::StatusOr<layerstore::CallScope> BeginCall(meta::Leases* leases,
                                                layerstore::GarbageCollector* gc,
                                                const grpc::ServerContext* ctx);

// Whether the call's client has gone (cancelled, or its connection
// dropped), for the core's long calls to stop at. `ctx` must outlive it.
Cancellation CancellationOf(grpc::ServerContext* ctx);

// Called after something was deleted (an image, a snapshot, a lease, a blob),
// for the daemon's collect-after-deletions policy.
using DeletionHook = std::function<void()>;

}  // namespace strata::api
