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
// Thread-safe for distinct destinations.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace strata::snapshotter {

// REQUIRES: nobody else writes under `dst` meanwhile.
absl::Status ApplyLayer(const std::string& layer_dir, const std::string& dst);

}  // namespace strata::snapshotter
