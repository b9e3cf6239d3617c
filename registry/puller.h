// Pulling an image from a registry into the store: its manifest (through an
// index, for the wanted platform), its config and its layer blobs, each
// verified against its digest, then the same verified unpack as an import
// (layerstore/layer_pipeline.h). A layer blob already in the content store is
// not fetched again, and a layer's unpack starts as soon as its blob is
// stored, while the next one downloads.
//
// Layer blobs download into an ingest named after their digest, so a pull
// interrupted (a dropped connection, or the daemon killed) resumes from what
// the ingest holds with an HTTP Range request; a registry that ignores Range
// sends the blob from its start, and the ingest starts over. A failed pull
// leaves only those ingests (garbage collection takes them once stale), never
// a half-made layer or image.
//
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "layerstore/layer_pipeline.h"
#include "layerstore/oci.h"
#include "layerstore/unpacker.h"
#include "registry/image_ref.h"
#include "registry/registry_client.h"

namespace strata::registry {

struct PullOptions {
  // Default: the host's (layerstore::HostPlatform()). An empty variant matches any.
  layerstore::Platform platform = layerstore::HostPlatform();
  // What the image is called in the store. Default: the normalised reference.
  std::string name;
  // Holds what the pull stores (the caller's call scope).
  std::string lease;
  // Times a blob download resumes after a dropped connection. Default: 5.
  int resumes = 5;
};

// "os/arch[/variant]" ("linux/arm64/v8"); InvalidArgument otherwise.
absl::StatusOr<layerstore::Platform> ParsePlatform(absl::string_view text);

class Puller {
 public:
  // All must outlive the puller.
  Puller(RegistryClient* client, layerstore::ContentStore* content, layerstore::ImageStore* images,
         layerstore::Unpacker* unpacker);

  // Progress phases: "fetch" (bytes of layer blobs, done and total), then
  // the unpack's ("unpack", layers).
  absl::StatusOr<layerstore::ImportedImage> Pull(const ImageRef& ref, const PullOptions& options,
                                                 const layerstore::ProgressFn& progress);

 private:
  // The manifest to unpack (and the descriptor the name will point at),
  // stored with the index above it, if any.
  struct Target {
    layerstore::Descriptor target;
    layerstore::Descriptor manifest;
    layerstore::Manifest parsed;
  };
  absl::StatusOr<Target> FetchManifest(const ImageRef& ref, const PullOptions& options);
  // The image config `desc` (small, in memory), stored after checking its
  // digest and size; read back if it is stored already.
  absl::StatusOr<std::string> FetchConfig(const ImageRef& ref, const layerstore::Descriptor& desc,
                                          const std::string& lease);
  // NOT_FOUND unless the image's config names `want` (or no platform at all).
  absl::Status CheckConfigPlatform(const ImageRef& ref, const std::string& config,
                                   const layerstore::Platform& want);
  // Downloads layer blob `desc` into its ingest, resuming, and commits it.
  absl::Status FetchLayerBlob(const ImageRef& ref, const layerstore::Descriptor& desc,
                              const PullOptions& options,
                              const std::function<void(int64_t)>& moved);

  RegistryClient* client_;
  layerstore::ContentStore* content_;
  layerstore::ImageStore* images_;
  layerstore::Unpacker* unpacker_;
};

}  // namespace strata::registry
