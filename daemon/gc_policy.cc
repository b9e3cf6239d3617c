#include "daemon/gc_policy.h"

#include "absl/time/clock.h"
#include "common/log.h"

namespace strata::daemon {

GcPolicy::GcPolicy(layerstore::GarbageCollector* gc, Options options) : gc_(gc), options_(options) {
  if (options_.interval > absl::ZeroDuration() || options_.after_deletions) {
    thread_ = std::thread([this] { Run(); });
  }
}

GcPolicy::~GcPolicy() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void GcPolicy::NoteDeletion() {
  if (!options_.after_deletions) return;
  MutexLock l(&mu_);
  deletion_pending_ = true;
  last_deletion_ = absl::Now();
}

void GcPolicy::Run() {
  absl::Time next_timed = options_.interval > absl::ZeroDuration() ? absl::Now() + options_.interval
                                                                   : absl::InfiniteFuture();
  while (true) {
    bool due = false;
    {
      MutexLock l(&mu_);
      // Wake at the timer, or once deletions have settled; re-check often
      // enough to notice both (and stop) promptly.
      absl::Time wake = next_timed;
      if (deletion_pending_) wake = std::min(wake, last_deletion_ + options_.settle);
      wake = std::min(wake, absl::Now() + absl::Milliseconds(500));
      mu_.AwaitWithDeadline([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; }, wake);
      if (stop_) return;
      absl::Time now = absl::Now();
      if (deletion_pending_ && now >= last_deletion_ + options_.settle) {
        deletion_pending_ = false;
        due = true;
      }
      if (now >= next_timed) due = true;
    }
    if (!due) continue;
    if (options_.interval > absl::ZeroDuration()) next_timed = absl::Now() + options_.interval;
    layerstore::GcOptions gc_options;
    gc_options.ingest_max_age = options_.ingest_max_age;
    absl::StatusOr<layerstore::GcReport> r = gc_->Collect(gc_options);
    if (!r.ok()) log::Error("scheduled gc", {{"error", r.status().ToString()}});
  }
}

}  // namespace strata::daemon
