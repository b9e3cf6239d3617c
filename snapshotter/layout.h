// Where a snapshot's files live under the store root. Directories are named by
// the numeric id in base 36, never by a client's key, and the names inside are
// one letter: containerd shortens overlay lowerdir lists to paths relative to
// their common parent ("<id>/f"), and every byte per layer counts when 500
// layers must fit one page of mount options.
//
//   root/snapshots/<id36>/f   the layer's files (committed) or the upper dir (active)
//   root/snapshots/<id36>/w   overlay workdir (active only)
//   root/snapshots/<id36>/m   the merged tree of the chain up to this layer, when a
//                             deeper chain needed it flattened (flattened_chains.h)
//   root/tmp/                 staging; emptied at start-up
//   root/disks/               images of sized writable layers (ext4_loop_backend.h)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace strata::snapshotter {

class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string SnapshotsDir() const { return root_ + "/snapshots"; }
  std::string TmpDir() const { return root_ + "/tmp"; }
  std::string DisksDir() const { return root_ + "/disks"; }
  std::string SnapshotDir(uint64_t id) const { return SnapshotsDir() + "/" + IdName(id); }
  std::string FilesDir(uint64_t id) const { return SnapshotDir(id) + "/f"; }
  std::string WorkDir(uint64_t id) const { return SnapshotDir(id) + "/w"; }
  std::string MergedDir(uint64_t id) const { return SnapshotDir(id) + "/m"; }

  // Base 36, lowercase: 1 -> "1", 36 -> "10".
  static std::string IdName(uint64_t id);
  // Inverse of IdName; nullopt for anything IdName could not have produced.
  static std::optional<uint64_t> ParseIdName(absl::string_view name);

 private:
  std::string root_;
};

}  // namespace strata::snapshotter
