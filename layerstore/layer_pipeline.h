// One layer's way into the store, whatever brings its bytes (a client's
// stream today, a registry next): the blob into the content store, verified
// against its digest and size, then the same verified unpack as an import
// (Unpacker) above a parent chain. Import, Layers.Pull and registry pulls
// share it. Thread-safe (as its parts are).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/unpacker.h"

namespace strata::layerstore {

// Stores `layer.blob` from `bytes` and unpacks it above `parent_chain`
// (empty: a base layer); returns its chainID, which is also the key of its
// committed native snapshot. When `bytes` is empty the blob must already be
// stored (NotFound otherwise). `lease` holds what it stores and relies on.
absl::StatusOr<Digest> StoreAndUnpackLayer(ContentStore* content, Unpacker* unpacker,
                                           const LayerToUnpack& layer, const Digest& parent_chain,
                                           ByteSource* bytes, const std::string& lease);

}  // namespace strata::layerstore
