// When the daemon collects garbage on its own: every `interval`, and/or a
// short while after deletions (batched: a burst of deletions triggers one
// collection, `settle` after the last). Off unless configured.
#pragma once

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "layerstore/gc.h"

namespace strata::daemon {

class GcPolicy {
 public:
  struct Options {
    absl::Duration interval = absl::ZeroDuration();  // zero: never on a timer
    bool after_deletions = false;
    absl::Duration settle = absl::Seconds(2);
    absl::Duration ingest_max_age = absl::Hours(24);
  };

  // `gc` must outlive the policy. Starts its thread only when enabled.
  GcPolicy(layerstore::GarbageCollector* gc, Options options);
  ~GcPolicy();  // waits for a collection in progress
  GcPolicy(const GcPolicy&) = delete;
  GcPolicy& operator=(const GcPolicy&) = delete;

  // Something was deleted; with after_deletions, a collection follows.
  void NoteDeletion();

  // New settings (SIGHUP), from the next wake-up on. Not thread-safe against
  // itself or the destructor: one thread owns the policy's life.
  void Update(Options options);
  // How long an ingest may idle before it is garbage, as now configured.
  absl::Duration ingest_max_age();

 private:
  void Run();
  void StartIfEnabled() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  layerstore::GarbageCollector* gc_;
  Mutex mu_;
  Options options_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_deletion_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool deletion_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::daemon
