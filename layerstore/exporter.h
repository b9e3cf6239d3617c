// Writes an image as an archive other tools read: an OCI image layout
// (oci-layout, index.json naming the image, blobs/sha256/...) or, for
// `docker load`-style consumers, the same layout plus a manifest.json (the
// `docker save` form of Docker 25 and later). Members are written in a fixed
// order with fixed metadata, so the same image gives the same archive.
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "layerstore/byte_sink.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"

namespace strata::layerstore {

enum class ExportFormat { kOci, kDocker };

// "oci" (default) or "docker"; InvalidArgument otherwise.
absl::StatusOr<ExportFormat> ParseExportFormat(const std::string& name);

// Streams image `name` (its host manifest, config and layers) into `out`.
absl::Status ExportImage(const ImageStore& images, const ContentStore& content,
                         const std::string& name, ExportFormat format, ByteSink* out);

}  // namespace strata::layerstore
