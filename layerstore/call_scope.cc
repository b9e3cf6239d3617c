#include "layerstore/call_scope.h"

#include "common/log.h"
#include "common/status_util.h"

namespace strata::layerstore {

absl::StatusOr<CallScope> CallScope::Begin(meta::Leases* leases, GarbageCollector* gc,
                                           const std::string& client_lease) {
  if (!client_lease.empty()) STRATA_RETURN_IF_ERROR(leases->Get(client_lease).status());
  STRATA_ASSIGN_OR_RETURN(meta::LeaseInfo info,
                          leases->Create("", std::nullopt, {}, /*temporary=*/true));
  return CallScope(leases, gc, info.id, client_lease);
}

CallScope::CallScope(CallScope&& other) noexcept
    : leases_(other.leases_),
      gc_(other.gc_),
      lease_(std::move(other.lease_)),
      client_lease_(std::move(other.client_lease_)) {
  other.lease_.clear();
}

CallScope::~CallScope() {
  if (!lease_.empty()) Rollback();
}

absl::Status CallScope::Succeed() {
  if (lease_.empty()) return absl::OkStatus();
  absl::Status s =
      client_lease_.empty() ? leases_->Delete(lease_) : leases_->Transfer(lease_, client_lease_);
  if (!s.ok() && !client_lease_.empty()) {
    Rollback();
    return s;
  }
  if (!s.ok()) {
    // What the call made is recorded; the lease alone is left, for start-up.
    log::Warn("drop call lease", {{"lease", lease_}, {"error", s.ToString()}});
  }
  lease_.clear();
  return absl::OkStatus();
}

void CallScope::Rollback() {
  absl::StatusOr<GcReport> undone = gc_->Rollback(lease_);
  if (!undone.ok()) {
    // Left for the next start-up, which rolls back every temporary lease.
    log::Warn("roll back failed call", {{"lease", lease_}, {"error", undone.status().ToString()}});
  }
  lease_.clear();
}

}  // namespace strata::layerstore
