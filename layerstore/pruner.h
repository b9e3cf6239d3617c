// Pruning: deleting the images no container stands on, then collecting
// garbage, as `docker image prune` does. The choice is the daemon's, made
// in the same transaction as the deletion: a container prepared meanwhile
// either comes first (and keeps its image) or after (above a layer that
// gc keeps while the container stands on it), never between a client's
// check and its deletion.
//
// A dry run says what would go: the images, and every blob and layer that
// deleting them frees, shared ones included once no other image needs them
// (a garbage collection's dry run with those names counted as deleted).
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/gc.h"
#include "layerstore/image_store.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct PruneOptions {
  // Every image no container stands on; else only those named by digest
  // alone ("repo@sha256:...", the nearest to docker's dangling images).
  bool all = false;
  bool dry_run = false;
  absl::Duration ingest_max_age = absl::Hours(24);
};

struct PruneReport {
  std::vector<std::string> images;  // deleted, or that would be
  GcReport gc;                      // what the collection freed, or would
  int64_t images_total = 0;         // images there were
};

// All must outlive the pruner.
class Pruner {
 public:
  Pruner(ImageStore* images, snapshotter::Snapshotter* snapshots, GarbageCollector* gc)
      : images_(images), snapshots_(snapshots), gc_(gc) {}

  // `on_image` and `on_item` (optional) see each image, then each item of
  // the collection, as they go.
  absl::StatusOr<PruneReport> Prune(const PruneOptions& options,
                                    const std::function<void(const std::string&)>& on_image,
                                    const std::function<void(const GcItem&)>& on_item);

 private:
  // Top layer chainID by manifest digest (a manifest never changes).
  using TopChains = std::map<Digest, std::string>;
  // The images of `all` that `options` picks: no container (a writable
  // snapshot or view in either key space) stands on their top layer, read
  // from `tops` (filled in for any image it lacks).
  absl::StatusOr<std::vector<std::string>> Pick(const std::vector<ImageInfo>& all,
                                                const PruneOptions& options, TopChains* tops) const;

  ImageStore* images_;
  snapshotter::Snapshotter* snapshots_;
  GarbageCollector* gc_;
};

}  // namespace strata::layerstore
