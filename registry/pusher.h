// Pushing an image from the store to a registry: its blobs (config and
// layers), then its manifest, then (if the store holds every manifest it
// names) its index, so the registry ends up with the very digest `strata
// images` shows. A blob the repository has already (HEAD) is not sent; one
// pulled from or pushed to another repository of the same registry (the
// blob's containerd.io/distribution.source.<registry> label) is mounted from
// there; the rest is uploaded in chunks (PATCH with Content-Range), and after
// a dropped connection the upload goes on from the offset the registry
// reports (or, if the registry gave the session up, as distribution 2.8 does
// when a dropped chunk left bytes behind, in a new session). The manifest goes
// last, so the registry never names what it lacks.
//
// Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "layerstore/unpacker.h"
#include "registry/image_ref.h"
#include "registry/registry_client.h"

namespace strata::registry {

struct PusherOptions {
  // Blobs one push uploads at once.
  int parallel_uploads = 3;
  // Bytes per PATCH.
  int64_t chunk_bytes = 16 << 20;
  // Times an upload goes on after a failed chunk without having moved on.
  int resumes = 5;
};

struct PushResult {
  layerstore::Descriptor pushed;  // what the reference now names
  int blobs_present = 0;          // the repository had them
  int blobs_mounted = 0;          // from another repository of the registry
  int blobs_uploaded = 0;
  int64_t bytes_uploaded = 0;
};

class Pusher {
 public:
  // All must outlive the pusher.
  Pusher(RegistryClient* client, layerstore::ContentStore* content,
         const layerstore::ImageStore* images, PusherOptions options = {});

  // Pushes the image named `name` to `ref` (its tag, or its digest, which
  // must then be the image's). Progress phase "push": blob bytes done and total.
  // `cancel`: the caller gone stops the push (CANCELLED) between blobs and
  // inside an upload; the registry keeps what it had, the tag is not moved.
  absl::StatusOr<PushResult> Push(const std::string& name, const ImageRef& ref,
                                  const layerstore::ProgressFn& progress,
                                  const Cancellation& cancel = Cancellation());

 private:
  struct Counts;
  // Makes blob `desc` present in `ref`'s repository.
  absl::Status PushBlob(const ImageRef& ref, const layerstore::Descriptor& desc, Counts& counts,
                        const std::function<void(int64_t)>& moved, const Cancellation& cancel);
  absl::Status Upload(const ImageRef& ref, const layerstore::Descriptor& desc, std::string url,
                      const std::function<void(int64_t)>& moved, const Cancellation& cancel);
  // Records that `ref`'s repository has blob `digest`, for later mounts.
  void NoteSource(const ImageRef& ref, const layerstore::Digest& digest);

  RegistryClient* client_;
  layerstore::ContentStore* content_;
  const layerstore::ImageStore* images_;
  const PusherOptions options_;
};

}  // namespace strata::registry
