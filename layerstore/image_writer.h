// Writing a new image: its config and an OCI manifest stored as blobs, and
// its name recorded. Shared by commit and squash. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"

namespace strata::layerstore {

// An image not yet stored: its config and its layers, bottom first, with
// their chainIDs.
struct ImageDraft {
  nlohmann::json config;
  std::vector<Descriptor> layers;
  std::vector<Digest> chain_ids;
};

// Stores the draft's config and a manifest naming it and its layers (Docker
// media types become their OCI equivalents) under `lease`, then names the
// manifest `name` (replacing what the name pointed at).
absl::StatusOr<ImageInfo> WriteImage(ContentStore* content, ImageStore* images,
                                     const std::string& name, const ImageDraft& draft,
                                     const std::string& lease);

// "2026-11-27T10:00:00.123Z": the time configs and history entries carry.
std::string ConfigTimeNow();

}  // namespace strata::layerstore
