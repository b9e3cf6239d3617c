// The mounts a snapshot is used through, exactly as containerd's overlayfs
// snapshotter returns them (containerd mounts them itself):
//   no parents             -> bind of the snapshot's own dir, "rw" (active) or "ro" (view)
//   view of one layer      -> read-only bind of that layer's dir
//   view of several layers -> overlay with lowerdir only (read-only by construction)
//   active with parents    -> overlay with workdir, upperdir and lowerdir (nearest first)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/mount.h"
#include "snapshotter/layout.h"
#include "snapshotter/types.h"

namespace strata::snapshotter {

// `lower_dirs` lists the ancestors' files directories, nearest first (see
// flattened_chains.h for chains deeper than overlayfs takes).
std::vector<MountSpec> BuildMounts(const Layout& layout, Kind kind, uint64_t id,
                                   const std::vector<std::string>& lower_dirs);

}  // namespace strata::snapshotter
