// Leases as calls carry them: the `containerd-lease` gRPC metadata key.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "meta/leases.h"

namespace strata::api {

// The lease a call names in its metadata, or empty.
std::string LeaseOf(const grpc::ServerContext* ctx);

// What a multi-step call (import, commit, pull) runs under: the lease the
// call names, or a temporary one dropped when the call ends. Either way,
// garbage collection cannot take what the call has stored or relies on
// before the call records what references it.
absl::StatusOr<meta::CallLease> HoldForCall(meta::Leases* leases, const grpc::ServerContext* ctx);

// Called after something was deleted (an image, a snapshot, a lease, a blob),
// for the daemon's collect-after-deletions policy.
using DeletionHook = std::function<void()>;

}  // namespace strata::api
