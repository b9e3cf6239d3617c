// Process-wide counts of the work the store has done since the process
// started: layers unpacked, bytes imported, pulled and pushed, garbage
// collected. Plain atomics that the core bumps as work completes; the
// daemon's metrics read them at each scrape (the core knows nothing of
// Prometheus). Every store in the process adds to the same counts.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace strata::layerstore {

struct WorkCounters {
  using Count = std::atomic<int64_t>;

  // Layer unpacks that completed: blob bytes read (compressed), tar bytes
  // after inflating, and time spent.
  Count layers_unpacked{0};
  Count unpack_blob_bytes{0};
  Count unpack_tar_bytes{0};
  Count unpack_nanos{0};

  // Imports that completed, their archive bytes, and their images' layers.
  Count imports{0};
  Count imported_bytes{0};
  Count imported_layers{0};
  // Pulls that completed and their images' layers; bytes fetched by any pull.
  Count pulls{0};
  Count pulled_bytes{0};
  Count pulled_layers{0};
  // Pushes that completed; blobs uploaded, mounted from another repository,
  // or found present; bytes uploaded.
  Count pushes{0};
  Count pushed_bytes{0};
  Count pushed_blobs_uploaded{0};
  Count pushed_blobs_mounted{0};
  Count pushed_blobs_present{0};

  // Garbage collections that removed (not dry runs, not rollbacks).
  Count gc_runs{0};
  Count gc_items{0};
  Count gc_bytes{0};
  // Their durations: a histogram with these upper bounds (seconds), plus +Inf.
  static constexpr std::array<double, 8> kGcBuckets = {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120};
  std::array<Count, kGcBuckets.size() + 1> gc_duration_buckets{};
  Count gc_duration_nanos{0};

  void NoteUnpack(int64_t blob_bytes, int64_t tar_bytes, absl::Duration took);
  void NoteGc(int64_t items, int64_t bytes, absl::Duration took);
};

// The process's counters.
WorkCounters& Counters();

}  // namespace strata::layerstore
