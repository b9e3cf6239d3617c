// Imports image archives: OCI image-layout tarballs (oci-layout, index.json,
// nested indexes; for a multi-platform index the host's platform is unpacked
// and the other blobs kept as content) and `docker save` tarballs (the
// manifest.json form; such an image gets a Docker v2 manifest).
//
// Every member is written to the content store while it is read (members
// named blobs/sha256/<hex> must hash to <hex>); then each image's manifest
// and config are checked and its layers unpacked (Unpacker) before its name is
// recorded. Any error leaves no image recorded; run under a CallScope (as the
// daemon does), it leaves nothing else it stored either. `docker save`'s
// legacy <id>/json and <id>/VERSION members are skipped.
//
// Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cancel.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "layerstore/layer_pipeline.h"
#include "layerstore/unpacker.h"

namespace strata::layerstore {

struct ImportOptions {
  // Name for the image (overrides names in the archive). Default: empty,
  // names come from io.containerd.image.name, a full ref.name, or RepoTags.
  std::string name;
  // Upper bound on the archive's size. Default: 1 TiB.
  int64_t max_archive_bytes = int64_t{1} << 40;
  // Directories ImportPath may read from (after resolving symlinks). Default:
  // none: a client cannot make the daemon read its host's files.
  std::vector<std::string> allowed_import_dirs;
  // Lease holding every blob and layer the import stores or relies on until
  // its images are recorded (meta/leases.h). Default: none; the daemon always
  // gives one, so garbage collection cannot race an import.
  std::string lease;
  // The caller gone: the import stops (CANCELLED) between blocks of the
  // archive, and before any name is recorded.
  Cancellation cancel;
};

class Importer {
 public:
  // All must outlive the importer.
  Importer(ContentStore* content, ImageStore* images, Unpacker* unpacker)
      : content_(content), images_(images), unpacker_(unpacker) {}

  // `progress` phases: "read" (archive bytes; total -1 when unknown), "unpack".
  absl::StatusOr<std::vector<ImportedImage>> Import(ByteSource* archive,
                                                    const ImportOptions& options,
                                                    const ProgressFn& progress = nullptr);
  // Imports an archive file on the daemon's host. PermissionDenied unless it
  // lies inside one of options.allowed_import_dirs.
  absl::StatusOr<std::vector<ImportedImage>> ImportPath(const std::string& path,
                                                        const ImportOptions& options,
                                                        const ProgressFn& progress = nullptr);

 private:
  struct Candidate;  // an image found in the archive, before unpacking
  struct Members;    // what the archive held

  absl::Status ReadMembers(ByteSource* archive, const ImportOptions& options,
                           const ProgressFn& progress, UnpackSession* session, Members* out);
  absl::StatusOr<std::vector<Candidate>> FromOciLayout(const Members& m);
  absl::StatusOr<std::vector<Candidate>> FromDockerArchive(const Members& m,
                                                           const std::string& lease);
  absl::StatusOr<Descriptor> ChooseManifest(const Descriptor& d, int depth);

  ContentStore* content_;
  ImageStore* images_;
  Unpacker* unpacker_;
};

}  // namespace strata::layerstore
