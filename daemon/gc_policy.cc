#include "daemon/gc_policy.h"

#include "absl/time/clock.h"
#include "common/log.h"

namespace strata::daemon {

GcPolicy::GcPolicy(layerstore::GarbageCollector* gc, Options options) : gc_(gc) {
  MutexLock l(&mu_);
  options_ = options;
  StartIfEnabled();
}

GcPolicy::~GcPolicy() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void GcPolicy::StartIfEnabled() {
  bool enabled = options_.interval > absl::ZeroDuration() || options_.after_deletions;
  // Once started the thread stays: with both triggers off it only sleeps.
  if (enabled && !thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void GcPolicy::Update(Options options) {
  MutexLock l(&mu_);
  options_ = options;
  if (!options_.after_deletions) deletion_pending_ = false;
  StartIfEnabled();
}

absl::Duration GcPolicy::ingest_max_age() {
  MutexLock l(&mu_);
  return options_.ingest_max_age;
}

void GcPolicy::NoteDeletion() {
  MutexLock l(&mu_);
  if (!options_.after_deletions) return;
  deletion_pending_ = true;
  last_deletion_ = absl::Now();
}

void GcPolicy::Run() {
  absl::Duration interval = absl::ZeroDuration();
  absl::Time next_timed = absl::InfiniteFuture();
  while (true) {
    bool due = false;
    layerstore::GcOptions gc_options;
    {
      MutexLock l(&mu_);
      // A changed interval counts from now.
      if (options_.interval != interval) {
        interval = options_.interval;
        next_timed =
            interval > absl::ZeroDuration() ? absl::Now() + interval : absl::InfiniteFuture();
      }
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
      gc_options.ingest_max_age = options_.ingest_max_age;
    }
    if (!due) continue;
    if (interval > absl::ZeroDuration()) next_timed = absl::Now() + interval;
    absl::StatusOr<layerstore::GcReport> r = gc_->Collect(gc_options);
    if (!r.ok()) log::Error("scheduled gc", {{"error", r.status().ToString()}});
  }
}

}  // namespace strata::daemon
