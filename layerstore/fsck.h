// The store's self-check (`strata fsck`): every blob re-hashed against its
// digest and size, blob files matched with records and back, snapshot records
// matched with directories and back (Snapshotter::Check), and every unpacked
// layer's regular files checked against the sizes and CRC-32s recorded when
// it was unpacked (so a file zeroed by a power loss is caught, not served).
// With repair: unrecorded files and directories are removed, corrupt or
// missing blobs are dropped from the store (re-import restores them), records
// without directories are removed when nothing depends on them; what cannot
// be repaired says why.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/content_store.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct FsckReport {
  int64_t blobs = 0;
  int64_t snapshots = 0;
  int64_t layers = 0;
  int64_t layer_files = 0;
  std::vector<snapshotter::Snapshotter::Problem> problems;
  // True when nothing is wrong any more (no problems, or all repaired).
  bool clean() const;
};

absl::StatusOr<FsckReport> CheckStore(ContentStore* content, snapshotter::Snapshotter* snapshots,
                                      bool repair);

}  // namespace strata::layerstore
