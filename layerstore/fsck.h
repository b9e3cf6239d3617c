// The store's self-check (`strata fsck`): every blob re-hashed against its
// digest and size, blob files matched with records and back, snapshot records
// matched with directories and back (Snapshotter::Check), and every unpacked
// layer's regular files checked against the sizes and CRC-32s recorded when
// it was unpacked (so a file zeroed by a power loss is caught, not served).
// Every image is resolved and each of its layers must be unpacked and its
// blob stored; an image that lost one cannot be repaired here (fsck says how
// to get it back). With repair: unrecorded files and directories are removed, corrupt or
// missing blobs are dropped from the store (re-import restores them), records
// without directories are removed when nothing depends on them; what cannot
// be repaired says why.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct FsckReport {
  int64_t blobs = 0;
  int64_t snapshots = 0;
  int64_t layers = 0;
  int64_t layer_files = 0;
  int64_t images = 0;
  std::vector<snapshotter::Snapshotter::Problem> problems;
  // True when nothing is wrong any more (no problems, or all repaired).
  bool clean() const;
};

absl::StatusOr<FsckReport> CheckStore(ContentStore* content, const ImageStore& images,
                                      snapshotter::Snapshotter* snapshots, bool repair);

}  // namespace strata::layerstore
