#include "layerstore/work_counters.h"

namespace strata::layerstore {

void WorkCounters::NoteUnpack(int64_t blob_bytes, int64_t tar_bytes, absl::Duration took) {
  ++layers_unpacked;
  unpack_blob_bytes += blob_bytes;
  unpack_tar_bytes += tar_bytes;
  unpack_nanos += absl::ToInt64Nanoseconds(took);
}

void WorkCounters::NoteGc(int64_t items, int64_t bytes, absl::Duration took) {
  ++gc_runs;
  gc_items += items;
  gc_bytes += bytes;
  gc_duration_nanos += absl::ToInt64Nanoseconds(took);
  double seconds = absl::ToDoubleSeconds(took);
  size_t bucket = 0;
  while (bucket < kGcBuckets.size() && seconds > kGcBuckets[bucket]) ++bucket;
  ++gc_duration_buckets[bucket];
}

WorkCounters& Counters() {
  // Atomics only: destroying it at exit is trivial.
  static WorkCounters counters;
  return counters;
}

}  // namespace strata::layerstore
