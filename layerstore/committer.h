// The commit path: an active snapshot's changes become a layer (blob stored,
// snapshot committed under its chainID with its upper directory as the layer
// directory, no copy), and a layer above an image becomes a new image (config
// with the new diff_id and a history entry, an OCI manifest, a name).
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "layerstore/content_store.h"
#include "layerstore/differ.h"
#include "layerstore/image_store.h"
#include "layerstore/image_writer.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct CommittedLayer {
  DiffResult diff;
  Digest chain_id;
};

// All must outlive the committer.
class Committer {
 public:
  Committer(ContentStore* content, ImageStore* images, snapshotter::Snapshotter* snapshots)
      : content_(content), images_(images), snapshots_(snapshots) {}

  // Diffs active snapshot `key` into a layer blob and commits it under its
  // chainID. NotFound for an unknown key, FailedPrecondition for a view or a
  // committed snapshot; on failure no blob is left and the snapshot stays active.
  // `lease` (optional) holds the blob and the layer.
  // `cancel`: the caller gone stops it (CANCELLED) before the snapshot is
  // consumed.
  absl::StatusOr<CommittedLayer> CommitLayer(snapshotter::KeySpace space, const std::string& key,
                                             Compression compression, const std::string& lease = "",
                                             const Cancellation& cancel = Cancellation());

  // Commits native snapshot `key` (prepared above `base`'s top layer; `base`
  // empty: a snapshot without parent) as image `name`. `lease` (optional)
  // holds what the new image will reference until its name is recorded.
  absl::StatusOr<ImageInfo> CommitImage(const std::string& base, const std::string& key,
                                        const std::string& name, Compression compression,
                                        const std::string& lease = "",
                                        const Cancellation& cancel = Cancellation());
  // CommitImage up to naming: the new image's config and layers, stored but
  // for the config and manifest. `name` is only checked, so that a bad one
  // fails before the snapshot is consumed.
  absl::StatusOr<ImageDraft> CommitDraft(const std::string& base, const std::string& key,
                                         const std::string& name, Compression compression,
                                         const std::string& lease = "",
                                         const Cancellation& cancel = Cancellation());
  // Image `base` as a draft to build on (its config, layers and chainIDs, the
  // layers' blobs held by `lease`), or an empty image for the host's
  // platform when `base` is empty.
  absl::StatusOr<ImageDraft> BaseDraft(const std::string& base, const std::string& lease);
  // The native active snapshot `key`, checked to stand right above `draft`'s
  // top layer (FailedPrecondition otherwise; `base` names it in the error).
  absl::StatusOr<snapshotter::Snapshotter::ActiveLayerBase> ActiveAbove(const ImageDraft& draft,
                                                                        const std::string& base,
                                                                        const std::string& key);

 private:
  ContentStore* content_;
  ImageStore* images_;
  snapshotter::Snapshotter* snapshots_;
};

// "gzip", "zstd" or "none"; InvalidArgument otherwise.
absl::StatusOr<Compression> ParseCompression(const std::string& name);

}  // namespace strata::layerstore
