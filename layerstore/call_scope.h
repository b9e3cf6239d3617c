// One call's hold on what it makes and relies on, and its undo.
//
// Each call that builds over several transactions (an import, a commit, a
// layer pull or diff) runs under a temporary lease of its own: garbage
// collection cannot take what the call made or relies on before the call
// records what references it, and the lease tells what the call itself
// created (meta::LeaseHold). When the call succeeds, its holds pass to the
// lease the client named (if any) and the temporary lease goes. When it fails
// (or the daemon dies during it; see Store::Open), the call is rolled back:
// what it created that nothing else holds is removed before the error is
// answered, so a rejected 2 GB archive leaves no 2 GB behind.
//
// Not thread-safe; one per call.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "layerstore/gc.h"
#include "meta/leases.h"

namespace strata::layerstore {

class CallScope {
 public:
  // Creates the call's temporary lease. `client_lease`, when non-empty, must
  // exist (NotFound otherwise); it receives the holds on success.
  // `leases` and `gc` must outlive the scope.
  static absl::StatusOr<CallScope> Begin(meta::Leases* leases, GarbageCollector* gc,
                                         const std::string& client_lease);
  CallScope(CallScope&& other) noexcept;
  CallScope& operator=(CallScope&&) = delete;
  // Rolls back unless Succeed() was called.
  ~CallScope();

  // The lease to stage references in.
  const std::string& lease() const { return lease_; }
  // The call's work is recorded: hand its holds over and drop the lease. An
  // error (the client's lease went meanwhile) rolls the call back instead.
  absl::Status Succeed();
  // Passes `result` through; rolls back first unless it is OK.
  template <typename T>
  T Finish(T result) {
    if (result.ok()) {
      absl::Status s = Succeed();
      if (!s.ok()) return s;
    }
    return result;
  }

 private:
  CallScope(meta::Leases* leases, GarbageCollector* gc, std::string lease, std::string client)
      : leases_(leases), gc_(gc), lease_(std::move(lease)), client_lease_(std::move(client)) {}
  void Rollback();

  meta::Leases* leases_;
  GarbageCollector* gc_;
  std::string lease_;         // empty once settled
  std::string client_lease_;  // may be empty
};

}  // namespace strata::layerstore
