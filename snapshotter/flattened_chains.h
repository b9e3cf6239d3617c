// Chains deeper than overlayfs stacks. The kernel takes at most 500 lower
// directories; a snapshot above a deeper chain gets the lowest part of its
// chain as one directory holding that part's merged tree (layer_apply.h),
// kept next to the layer it ends at (snapshots/<id>/m) as a cache of that
// chain: shared by every snapshot above it, and removed with the layer's
// directory, which cannot go while anything stands above it.
//
// The part flattened ends at a depth that is a multiple of 256 counted from
// the base, so snapshots at depths 600 and 700 above one chain share one
// merged directory, and a chain growing one layer at a time rebuilds it only
// every 256 layers.
//
// Crash safety: built in m.tmp and renamed to m once synced, so m is whole
// or absent. Thread-safe: one build at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "snapshotter/layout.h"

namespace strata::snapshotter {

class FlattenedChains {
 public:
  // overlayfs's limit on lower directories (OVL_MAX_STACK).
  static constexpr size_t kMaxLowerDirs = 500;
  static constexpr size_t kStep = 256;

  // `layout` must outlive this.
  explicit FlattenedChains(const Layout* layout) : layout_(layout) {}

  // The lower directories for a snapshot above `parent_ids` (directory ids,
  // nearest first): their files directories, with the lowest part of a chain
  // deeper than kMaxLowerDirs replaced by its merged directory.
  absl::StatusOr<std::vector<std::string>> LowerDirs(const std::vector<uint64_t>& parent_ids);

 private:
  // The merged directory of `chain` (nearest first; chain[0] is its top),
  // built if absent.
  absl::StatusOr<std::string> Merged(const std::vector<uint64_t>& chain);

  const Layout* layout_;
  Mutex mu_;
};

}  // namespace strata::snapshotter
