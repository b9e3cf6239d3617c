// What the store takes on disk, and what for (`strata du`, Admin.DiskUsage).
//
// Everything under the root is counted once, as du(1) counts it (allocated
// blocks, a hard-linked file once), so `total` is what `du -s ROOT` says. It
// is split into: image layers (blob and unpacked directory, each stored once
// however many images share it), writable layers (containers' upper
// directories), content no image references (garbage, or held by a lease),
// metadata (RocksDB), and the rest (ingests in progress, staging, pooled
// empty directories). Per image: the bytes only it uses and the bytes it
// shares with another image.
//
// Walks the whole root: a call takes as long as a du of the store.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct ImageDiskUsage {
  std::string name;
  int64_t unique_bytes = 0;  // layers no other image uses
  int64_t shared_bytes = 0;  // layers some other image uses too
};

struct StoreDiskUsage {
  std::vector<ImageDiskUsage> images;
  int64_t unshared_bytes = 0;  // what the images would take, each stored apart
  int64_t image_bytes = 0;     // what their layers, configs and manifests take here
  int64_t writable_bytes = 0;  // writable layers (containers), and views
  int64_t writable_layers = 0;
  int64_t unreferenced_bytes = 0;  // blobs and layers no image uses
  int64_t metadata_bytes = 0;
  int64_t other_bytes = 0;  // ingests, staging, pooled directories
  int64_t total_bytes = 0;  // all of the above: du -s of the root
};

// All must outlive the call.
absl::StatusOr<StoreDiskUsage> MeasureStore(const std::string& root, const ContentStore& content,
                                            const ImageStore& images,
                                            const snapshotter::Snapshotter& snapshots);

}  // namespace strata::layerstore
