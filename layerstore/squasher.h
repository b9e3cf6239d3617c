// Merging the top layers of an image into one, as a hypervisor merges a
// differencing disk into its parent. The merged layer's tree is the merged
// view of those layers: whiteouts of paths the merged layers themselves
// created vanish, those that hide something in the layers below stay. The
// layers below stay shared, untouched.
//
// The path: the layers' directories applied bottom first into a staging
// directory under tmp/ (snapshotter/layer_apply.h), whiteouts that hide
// nothing below dropped, the differ's tar writer making the blob, and the
// layer pipeline unpacking it (verified, recorded by chainID) like any other
// layer. A crash leaves only the staging directory (tmp/ is emptied at
// start-up) and what the call's lease holds (rolled back).
//
// Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "layerstore/image_writer.h"
#include "layerstore/unpacker.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

// All must outlive the squasher.
class Squasher {
 public:
  Squasher(ContentStore* content, ImageStore* images, Unpacker* unpacker, Committer* committer,
           snapshotter::Snapshotter* snapshots)
      : content_(content),
        images_(images),
        unpacker_(unpacker),
        committer_(committer),
        snapshots_(snapshots) {}

  // Image `name`: image `image` with its top `layers` layers (0: all) merged
  // into one. InvalidArgument when `layers` exceeds the image's layers.
  // `cancel`: the caller gone stops it (CANCELLED) between steps.
  absl::StatusOr<ImageInfo> Squash(const std::string& image, const std::string& name, int layers,
                                   Compression compression, const std::string& lease,
                                   const Cancellation& cancel = Cancellation());

  // Commits native snapshot `key` (above `base`'s top layer) and merges it
  // into that layer in one step: image `name` has as many layers as `base`.
  // The snapshot is removed once the image is recorded; until then, and
  // whenever the call fails, it stays as it was.
  absl::StatusOr<ImageInfo> CommitSquashed(const std::string& base, const std::string& key,
                                           const std::string& name, Compression compression,
                                           const std::string& lease,
                                           const Cancellation& cancel = Cancellation());

 private:
  // Image `name`: `draft` with its layers from `from` up, and then the
  // directories `above` (overlayfs form, bottom first), merged into one
  // layer; `merged` counts them for the history.
  absl::StatusOr<ImageInfo> SquashDraft(ImageDraft draft, const std::string& name, size_t from,
                                        const std::vector<std::string>& above, size_t merged,
                                        Compression compression, const std::string& lease,
                                        const Cancellation& cancel);
  // The merged tree of directories `dirs` (bottom first) in a new staging
  // directory, keeping the whiteouts that hide something in `lowers`
  // (nearest first; none: the tree stands on nothing).
  absl::StatusOr<std::string> MergeTrees(const std::vector<std::string>& dirs,
                                         const std::vector<std::string>& lowers,
                                         const Cancellation& cancel);
  // The directories of the layers `chain_ids` names.
  absl::StatusOr<std::vector<std::string>> LayerDirs(const std::vector<Digest>& chain_ids);

  ContentStore* content_;
  ImageStore* images_;
  Unpacker* unpacker_;
  Committer* committer_;
  snapshotter::Snapshotter* snapshots_;
};

}  // namespace strata::layerstore
