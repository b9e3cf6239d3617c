// Image names and what they point at (a manifest or an index in the content
// store), and their resolution to a manifest, config and layer chainIDs.
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "layerstore/content_store.h"
#include "layerstore/oci.h"
#include "meta/db.h"

namespace strata::layerstore {

struct ImageInfo {
  std::string name;
  Descriptor target;  // what the name points at: a manifest or an index
  Digest manifest;    // the manifest for this host (== target.digest for a manifest)
  Labels labels;
  absl::Time created;
  absl::Time updated;
};

struct ResolvedImage {
  ImageInfo info;
  Manifest manifest;
  ImageConfig config;
  std::vector<Digest> chain_ids;  // one per layer, bottom first
  Digest top_chain() const { return chain_ids.empty() ? Digest() : chain_ids.back(); }
};

class ImageStore {
 public:
  // Both must outlive the store.
  ImageStore(meta::Db* db, ContentStore* content) : db_(db), content_(content) {}

  // Creates or replaces the image `info.name`, stored under its normalised
  // reference ("mybb:x" is docker.io/library/mybb:x: one rule for every name
  // stored, however it came in); returns it as recorded (with that name and
  // its times). InvalidArgument for a name that is not a reference, or that
  // carries a digest other than the image's (its target or manifest). Callers use this, not a Get
  // after it: another client may delete the name in between, and what this call did still
  // succeeded.
  absl::StatusOr<ImageInfo> Put(const ImageInfo& info);
  // Image `name`, or, failing that, the image of its normalised reference
  // ("busybox" finds docker.io/library/busybox:latest), as for every lookup
  // by name here (Resolve, Delete, Tag's source).
  absl::StatusOr<ImageInfo> Get(const std::string& name) const;
  // Names `new_name` (normalised, as Put) the image `source` names (docker
  // tag): a name already in use moves. NotFound if there is no `source`.
  absl::StatusOr<ImageInfo> Tag(const std::string& source, const std::string& new_name);
  absl::Status List(const std::function<bool(const ImageInfo&)>& fn) const;
  // Stores made before every name was normalised: each name not in its
  // normalised form moves to it (unless that name is taken by another
  // image, which is left as it is and logged). Returns how many moved.
  absl::StatusOr<int> NormalizeStoredNames();
  absl::Status Delete(const std::string& name);
  // In one transaction, so that no name is written meanwhile: `pick` sees
  // every image and names those to delete, and they are deleted. Returns
  // their names.
  absl::StatusOr<std::vector<std::string>> DeletePicked(
      const std::function<
          absl::StatusOr<std::vector<std::string>>(const std::vector<ImageInfo>& all)>& pick);
  // Moves on whenever a name is written or deleted: a reader caching what
  // the names reach knows when to look again.
  uint64_t generation() const { return generation_.load(); }
  // Reads the image's manifest and config from the content store.
  absl::StatusOr<ResolvedImage> Resolve(const std::string& name) const;
  // The same for a record already read (or just written): a call that made
  // the image answers with it even if another client deleted the name since.
  absl::StatusOr<ResolvedImage> Resolve(const ImageInfo& info) const;

  // FailedPrecondition, naming the image, if snapshot `key` of the native key
  // space is a layer some image stands on (its key is that layer's chainID).
  absl::Status CheckNoImageNeeds(const std::string& key) const;

  // Reads a whole (small, JSON) blob.
  absl::StatusOr<std::string> ReadJsonBlob(const Descriptor& d) const;

 private:
  // The stored name `name` finds (itself or its normalised form), or nullopt.
  absl::StatusOr<std::optional<std::string>> StoredName(meta::WriteTxn& txn,
                                                        const std::string& name) const;

  meta::Db* db_;
  ContentStore* content_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace strata::layerstore
