// Applies a layer directory in overlayfs form onto a directory: what the
// kernel shows when that layer is mounted above what the directory holds,
// written out as plain files. Applying a chain's layers bottom first yields
// the chain's merged tree, which is how a chain deeper than overlayfs's
// stack limit is flattened (flattened_chains.h).
//
// A whiteout (0/0 character device) removes the path; an opaque directory
// (trusted.overlay.opaque=y) replaces the directory's contents; anything else
// replaces what is at its path (directories merge). Contents, modes, numeric
// owners, xattrs (overlay's own dropped) and mtimes are kept; hard links
// within the layer stay links. Walks are fd-relative and follow no symlink.
//
// With `keep_whiteouts` (merging the top layers of a chain into one that
// still stands above the rest), the result keeps hiding what lies below: a
// whiteout is written where a path was removed, a directory replaced by an
// opaque one stays opaque, and a directory made where a merged layer had a
// file or a whiteout is opaque.
//
// Thread-safe for distinct destinations.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strata::snapshotter {

struct ApplyOptions {
  bool keep_whiteouts = false;
  // With keep_whiteouts: each whiteout written, relative to the root (a later
  // layer may replace one).
  std::vector<std::string>* whiteouts = nullptr;
};

// REQUIRES: nobody else writes under `dst` meanwhile.
absl::Status ApplyLayer(const std::string& layer_dir, const std::string& dst,
                        const ApplyOptions& options = {});

}  // namespace strata::snapshotter
