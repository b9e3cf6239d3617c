// Writes an overlay upper directory (an active snapshot's changes) as an OCI
// layer, in one pass: the directory is walked in sorted order (the same
// directory gives the same digests), written as a PAX tar with overlayfs form
// turned back into OCI form (a 0/0 character device -> ".wh.<name>", the
// trusted.overlay.opaque xattr -> "<dir>/.wh..wh..opq"), hard links kept as
// links, modes, numeric owners, mtimes and xattrs kept (overlay's own
// trusted.overlay.* dropped). The tar is hashed (diff_id), compressed, hashed
// again (blob digest) and written to a content-store ingest; the blob is then
// committed. Walks are fd-relative and never follow symlinks.
//
// libarchive errors are converted here and in the extractor, nowhere else.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/oci.h"

namespace strata::layerstore {

struct DiffResult {
  Descriptor blob;  // the stored layer blob
  Digest diff_id;   // sha256 of the uncompressed tar
  int64_t entries = 0;
  int64_t tar_bytes = 0;
};

// The OCI media type of a layer with compression `c`.
std::string LayerMediaType(Compression c);

// Diffs `upper` into a blob stored in `content` through the ingest `ref`.
// A blob that is already stored is not an error (the same change committed
// twice): the result names it.
absl::StatusOr<DiffResult> DiffUpperDir(const std::string& upper, Compression compression,
                                        ContentStore* content, const std::string& ref,
                                        const std::string& lease = "");

}  // namespace strata::layerstore
