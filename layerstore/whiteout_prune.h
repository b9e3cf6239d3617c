// Drops a layer's whiteouts that hide nothing in the layers below it.
//
// overlayfs hides whiteouts (0/0 character devices) only in directories it
// merges from several layers. A whiteout in a directory that exists in just
// one layer of the stack (new in this layer, opaque, or over a lower symlink
// or file) is listed by readdir as a name that lstat cannot find. Such a
// whiteout hides nothing, so removing it changes no lookup; and since a
// layer directory is keyed by its chainID, its lower layers are always the
// same ones, so the decision made once at unpack holds for every mount.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace strata::layerstore {

// `whiteouts`: paths (relative to `layer_dir`) where the layer's extraction
// made a whiteout; those no longer whiteouts are skipped. `lowers`: the
// layer directories below, nearest first. Returns how many were removed.
absl::StatusOr<int> DropIdleWhiteouts(const std::string& layer_dir,
                                      const std::vector<std::string>& whiteouts,
                                      const std::vector<std::string>& lowers);

}  // namespace strata::layerstore
