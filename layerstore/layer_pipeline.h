// The way layers and images come into the store, whatever brings their bytes
// (an archive or a client's stream today, a registry next): a layer blob into
// the content store, verified against its digest and size, then unpacked
// (Unpacker: digest, inflate, diff_id, extraction) above a parent chain; an
// image's manifest checked against its config and blobs, then its layers
// unpacked. Import, Layers.Pull and registry pulls share it. Thread-safe (as
// its parts are).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "layerstore/unpacker.h"

namespace strata::layerstore {

// Stores `layer.blob` from `bytes` and unpacks it above `parent_chain`
// (empty: a base layer); returns its chainID, which is also the key of its
// committed native snapshot. When `bytes` is empty the blob must already be
// stored (NotFound otherwise). `lease` holds what it stores and relies on.
absl::StatusOr<Digest> StoreAndUnpackLayer(ContentStore* content, Unpacker* unpacker,
                                           const LayerToUnpack& layer, const Digest& parent_chain,
                                           ByteSource* bytes, const std::string& lease);

// An image ready to be named: its record (target and manifest; the caller
// gives the name) and its layers' chainIDs, bottom first.
struct ImportedImage {
  ImageInfo info;
  std::vector<Digest> chain_ids;
};

// An image whose manifest, config and layer blobs are stored (or, for layer
// blobs, being unpacked already by `session`): checks the manifest against
// its config and the stored blobs, unpacks its layers (verified) and records
// each blob's media type. `target` is what the image's name will point at
// (the manifest, or an index above it).
absl::StatusOr<ImportedImage> UnpackImage(ContentStore* content, const ImageStore& images,
                                          UnpackSession* session, const Descriptor& target,
                                          const Descriptor& manifest, const std::string& lease,
                                          const ProgressFn& progress);

}  // namespace strata::layerstore
