// Pulling an image from a registry into the store: its manifest (through an
// index, for the wanted platform), its config and its layer blobs, each
// verified against its digest, then the same verified unpack as an import
// (layerstore/layer_pipeline.h). Layer blobs download a few at a time, and
// each is unpacked while its bytes arrive (read back from its ingest as it
// grows), so a pull takes about max(download, unpack). A layer blob already
// in the content store is not fetched again.
//
// Single flight: a blob that another pull (of this or any image) is
// downloading is not requested again; the second pull watches the first's
// ingest grow, reports that as its own progress, and unpacks from it. If the
// first fails, the second takes the download over from where it stopped.
// Pulls of a manifest another pull is fetching wait for it, relaying its
// progress, then find its blobs and layers stored: one download and one
// unpack, however many clients ask. A layer already unpacked (its chainID
// present) is not unpacked again; its blob is fetched only if missing, so the
// image stays whole for export and push.
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

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "common/mutex.h"
#include "layerstore/content_store.h"
#include "layerstore/growing_file.h"
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
  // Times a blob download resumes after a dropped connection without
  // having moved on, and after a stall (however much it moved). Default: 5.
  int resumes = 5;
  // The caller gone: the pull stops (CANCELLED) and its scope rolls back.
  Cancellation cancel;
  // Name the image in the store. False: only its content and layers (for
  // containerd's CRI pulls, where containerd keeps the image). Default: true.
  bool record_image = true;
};

struct PullerOptions {
  // Layer blobs one pull downloads at once.
  int parallel_downloads = 3;
  // A layer blob the manifest says is larger is refused before any byte is
  // fetched (RESOURCE_EXHAUSTED); the unpack's own limits apply after.
  int64_t max_layer_blob_bytes = int64_t{64} << 30;
  // A blob not downloaded within this time, however its bytes trickle in,
  // is given up (DEADLINE_EXCEEDED). Zero: no limit. Default: 2 h.
  absl::Duration download_timeout = absl::Hours(2);
};

// "os/arch[/variant]" ("linux/arm64/v8"); InvalidArgument otherwise.
absl::StatusOr<layerstore::Platform> ParsePlatform(absl::string_view text);

class Puller {
 public:
  // All must outlive the puller.
  Puller(RegistryClient* client, layerstore::ContentStore* content, layerstore::ImageStore* images,
         layerstore::Unpacker* unpacker, PullerOptions options = {});

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
  absl::Status CheckConfigPlatform(const ImageRef& ref, const layerstore::ImageConfig& config,
                                   const layerstore::Platform& want);
  // What one layer's fetch reports and obeys.
  struct LayerFetch {
    const PullOptions* options;
    layerstore::UnpackSession* session;  // unpacks the blob as it arrives
    std::function<void(int64_t)> moved;  // bytes fetched (negative: refetching)
    const std::atomic<bool>* abandon;    // set: another layer failed
  };
  // Makes layer blob `desc` stored and held by the pull's lease: already
  // stored, downloaded by another pull (watched), or downloaded here. With
  // `unpack`, its unpack starts as soon as its bytes do.
  absl::Status FetchLayerBlob(const ImageRef& ref, const layerstore::Descriptor& desc, bool unpack,
                              const LayerFetch& fetch);
  // Downloads `desc` into `w` (resuming) and commits it; `file` learns of
  // every byte.
  absl::Status DownloadInto(const ImageRef& ref, const layerstore::Descriptor& desc,
                            layerstore::Writer& w, layerstore::GrowingFile& file,
                            const LayerFetch& fetch);
  // Reports another pull's download of a blob as it grows, until it ends.
  absl::Status Watch(layerstore::GrowingFile& download, const LayerFetch& fetch);
  // Fetches every layer blob, `options_.parallel_downloads` at a time;
  // those whose layer is unpacked already (`unpacked[i]`) are not unpacked again.
  absl::Status FetchLayerBlobs(const ImageRef& ref,
                               const std::vector<layerstore::Descriptor>& layers,
                               const std::vector<bool>& unpacked, const PullOptions& options,
                               layerstore::UnpackSession* session,
                               const layerstore::ProgressFn& progress);
  // The pull of manifest `t`, after FetchManifest.
  absl::StatusOr<layerstore::ImportedImage> PullManifest(const ImageRef& ref, const Target& t,
                                                         const PullOptions& options,
                                                         const layerstore::ProgressFn& progress);
  // One manifest's pull in progress, which later pulls of it wait for.
  struct Flight;
  // Relays `flight`'s progress until it ends, or `cancel` says so.
  static void Follow(Flight& flight, const Cancellation& cancel,
                     const layerstore::ProgressFn& progress);

  RegistryClient* client_;
  layerstore::ContentStore* content_;
  layerstore::ImageStore* images_;
  layerstore::Unpacker* unpacker_;
  const PullerOptions options_;
  Mutex mu_;
  // Blobs downloading now, by digest.
  std::map<layerstore::Digest, std::shared_ptr<layerstore::GrowingFile>> downloads_
      ABSL_GUARDED_BY(mu_);
  // Manifests being pulled now, by digest.
  std::map<layerstore::Digest, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::registry
