// Counts and byte totals of what a store holds, read from metadata alone
// (no directory walk), so `strata info` and the metrics scrape stay cheap
// however big the store grows. For du-exact figures see disk_usage.h.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "layerstore/store.h"

namespace strata::layerstore {

struct StoreCensus {
  int64_t images = 0;
  int64_t blobs = 0;
  int64_t blob_bytes = 0;   // their sizes as stored (compressed layers, configs, manifests)
  int64_t layers = 0;       // unpacked layers, each once however many images share it
  int64_t layer_bytes = 0;  // their unpacked sizes, recorded at unpack
  // Snapshots in both key spaces, by kind.
  int64_t committed_snapshots = 0;
  int64_t active_snapshots = 0;  // writable layers: containers
  int64_t view_snapshots = 0;
  int64_t leases = 0;
  int64_t ingests = 0;         // uploads in progress
  int64_t metadata_bytes = 0;  // RocksDB's files
};

// `store` must stay open during the call.
absl::StatusOr<StoreCensus> TakeCensus(Store& store);

}  // namespace strata::layerstore
