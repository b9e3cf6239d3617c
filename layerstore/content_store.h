// The content store: immutable blobs addressed by sha256, written through
// resumable ingests.
//
//   content/blobs/sha256/<hex>      a committed blob (mode 0444)
//   content/ingest/<h>/data         bytes received so far for one ref
//   content/ingest/<h>/ref          the client's ref (h = sha256(ref), so no
//                                   client string ever becomes a path)
//
// Crash ordering: an ingest is durable once Commit fsyncs it; the blob is
// renamed into place, then recorded in metadata. A blob file without a record
// (a crash between the two) is removed at start-up; the client never saw that
// commit succeed. Delete removes the record first, the file after.
//
// Thread-safe. At most one Writer per ref at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/unique_fd.h"
#include "layerstore/digest.h"
#include "meta/db.h"

namespace strata::layerstore {

using Labels = std::map<std::string, std::string>;

struct BlobInfo {
  Digest digest;
  int64_t size = 0;
  std::string media_type;
  Labels labels;
  absl::Time created;
  absl::Time updated;
};

struct IngestStatus {
  std::string ref;
  int64_t offset = 0;  // bytes received
  absl::Time updated;
};

class ContentStore;

// Appends to one ingest. Destroying it without Commit keeps the ingest for a
// later resume (or Abort). Not thread-safe.
class Writer {
 public:
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  int64_t offset() const { return offset_; }
  // The digest of what was written; set by Commit (also when it fails).
  const Digest& digest() const { return digest_; }
  // Drops bytes after `offset` (resume from there). OutOfRange past the end.
  absl::Status Truncate(int64_t offset);
  absl::Status Write(const void* data, size_t n);
  // A read-only descriptor of the ingest's file, to read its bytes while
  // they are written (pread); it stays valid once Commit makes them a blob.
  absl::StatusOr<UniqueFd> OpenReader() const;
  // Verifies and stores the blob. `expected_size` < 0 and an empty
  // `expected` skip those checks. Size mismatch: FailedPrecondition (the
  // ingest stays, for a client that has more to send). Digest mismatch:
  // DataLoss (the ingest is removed: its bytes are wrong). AlreadyExists if
  // the blob is already stored (the ingest is removed).
  absl::StatusOr<BlobInfo> Commit(int64_t expected_size, const Digest& expected,
                                  const Labels& labels = {}, const std::string& media_type = "");

 private:
  friend class ContentStore;
  Writer(ContentStore* store, std::string ref, std::string lease, std::string dir, UniqueFd fd,
         int64_t offset, Sha256 hash);

  ContentStore* store_;
  std::string ref_;
  std::string lease_;
  std::string dir_;
  UniqueFd fd_;
  int64_t offset_;
  Sha256 hash_;
  Digest digest_;
  bool done_ = false;
};

class ContentStore {
 public:
  // `db` must outlive the store. `root` is the store root; content/ goes below.
  static absl::StatusOr<std::unique_ptr<ContentStore>> Open(meta::Db* db, const std::string& root);

  absl::StatusOr<BlobInfo> Info(const Digest& digest) const;
  bool Has(const Digest& digest) const;
  // Calls fn for every blob in digest order; fn returns false to stop.
  absl::Status Walk(const std::function<bool(const BlobInfo&)>& fn) const;
  absl::Status Delete(const Digest& digest);
  // Replaces the blob's labels.
  absl::StatusOr<BlobInfo> SetLabels(const Digest& digest, const Labels& labels);
  // Records the blob's media type once it is known (an archive member is
  // stored before the manifest that says what it is); a type already
  // recorded stays. NotFound if there is no such blob.
  absl::Status NoteMediaType(const Digest& digest, const std::string& media_type);
  // The committed blob's file, open for reading. NotFound if not stored.
  absl::StatusOr<UniqueFd> OpenBlob(const Digest& digest) const;
  // Reads up to `n` bytes at `offset`.
  absl::StatusOr<std::string> ReadAt(const Digest& digest, int64_t offset, size_t n) const;

  // Stores a small blob held in memory (a manifest, a config) and returns its
  // digest; a blob that is already stored is not an error. `lease` (optional)
  // holds the blob, new or not.
  absl::StatusOr<Digest> Put(const std::string& data, const std::string& media_type,
                             const std::string& lease = "");
  // Makes `lease` hold a stored blob. NotFound if it is not stored.
  absl::Status Hold(const Digest& digest, const std::string& lease);

  // Opens (creating or resuming) the ingest for `ref`. Unavailable while
  // another Writer holds the same ref. InvalidArgument for an empty ref.
  // `lease` (optional) holds the ingest, and then the blob it commits (or the
  // blob already stored with that digest).
  absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(const std::string& ref,
                                                     const std::string& lease = "");
  absl::StatusOr<IngestStatus> Status(const std::string& ref) const;
  absl::Status ListIngests(const std::function<void(const IngestStatus&)>& fn) const;
  // Removes the ingest for `ref`. NotFound if there is none.
  absl::Status Abort(const std::string& ref);
  // Removes the ingest for `ref` if no Writer has it open and it has not
  // changed since `cutoff`; returns the bytes removed, or nullopt if it stayed.
  absl::StatusOr<std::optional<int64_t>> AbortIfIdleSince(const std::string& ref,
                                                          absl::Time cutoff);

  // Garbage collection: stages the removal of a blob's record (the caller
  // holds the write transaction) ...
  void StageCollect(meta::WriteTxn& txn, const Digest& digest) const;
  // ... and once it has committed, removes the file unless the blob was
  // stored again meanwhile.
  absl::Status RemoveCollectedFile(const Digest& digest);

  // A fresh ref for an ingest the daemon writes for itself within one call
  // (an import's members, a commit's layer, a Put); `what` says which. Such
  // ingests are never resumed: start-up removes them. Clients cannot use
  // this namespace (IsInternalRef).
  static std::string InternalRef(absl::string_view what);
  static bool IsInternalRef(absl::string_view ref);

  std::string BlobPath(const Digest& digest) const;
  // Names of files in the blob directory that no record claims.
  absl::StatusOr<std::vector<std::string>> UnrecordedFiles() const;
  // Removes an unrecorded blob file by name (unless it was recorded meanwhile).
  absl::Status RemoveUnrecordedFile(const std::string& name);
  int orphan_blobs_removed() const { return orphan_blobs_removed_; }
  int dead_ingests_removed() const { return dead_ingests_removed_; }

 private:
  friend class Writer;
  ContentStore(meta::Db* db, std::string root);
  absl::Status Recover();
  std::string IngestDir(const std::string& ref) const;
  void ReleaseRef(const std::string& ref);
  absl::StatusOr<BlobInfo> Record(const Digest& digest, int64_t size, const Labels& labels,
                                  const std::string& media_type, const std::string& lease);
  // Serializes what happens to one digest's file: committing it, deleting it,
  // collecting it. (Striped: digests are uniform.)
  Mutex& BlobMutex(const Digest& digest) const;

  meta::Db* const db_;
  const std::string blobs_dir_;
  const std::string ingest_dir_;
  int orphan_blobs_removed_ = 0;
  int dead_ingests_removed_ = 0;

  Mutex mu_;
  std::set<std::string> open_refs_ ABSL_GUARDED_BY(mu_);
  mutable Mutex blob_mu_[16];
};

}  // namespace strata::layerstore
