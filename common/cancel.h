// A long call's question "has my caller gone?": its client cancelled, or the
// connection dropped. The service that receives the call answers it; the
// core asks at points where stopping is safe (between chunks of a download,
// blocks of an archive, layers of a merge) and returns CANCELLED, so the
// call's scope rolls back what it made.
#pragma once

#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace strata {

class Cancellation {
 public:
  // Never cancelled.
  Cancellation() = default;
  // `probe` is called from any thread, often: it must be cheap.
  explicit Cancellation(std::function<bool()> probe) : probe_(std::move(probe)) {}

  bool cancelled() const { return probe_ && probe_(); }
  // CANCELLED naming `what` once the caller has gone; OK before.
  absl::Status Check(absl::string_view what) const {
    if (!cancelled()) return absl::OkStatus();
    return absl::CancelledError(absl::StrCat(what, ": cancelled by the client"));
  }

 private:
  std::function<bool()> probe_;
};

}  // namespace strata
