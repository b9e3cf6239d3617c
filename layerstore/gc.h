// Garbage collection (DESIGN.md, "Ownership and garbage collection").
//
// Roots: images (their index, manifests, configs and layer blobs, and the
// native snapshots named by their layers' chainIDs); every snapshot in
// containerd's key space; every active or view snapshot; what unexpired
// leases hold; blobs and snapshots labelled `strata.io/gc.root` (or
// containerd's `containerd.io/gc.root`). Edges: index -> manifests -> config
// and layers; a blob's `containerd.io/gc.ref.content.*` labels; snapshot ->
// parent.
//
// Online: the mark and the removal of records happen in one write
// transaction, holding the metadata writer lock, so no reference can be
// created between them; readers (Stat, List, Mounts) never wait. Work that
// builds references over several transactions (an import, a commit) runs
// under a lease, which holds each thing as it is created or relied on.
// Manifests and configs are parsed before the lock is taken (blobs never
// change, so what they reference is cached by digest). Files and directories
// go after the transaction: directory ids are never reused, and a blob file
// is removed under its digest's lock only if no record claims it again.
//
// Then ingests not written to for `ingest_max_age` (unless a lease holds
// them), expired leases, and directories and blob files that no record owns.
// Thread-safe; collections run one at a time.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"
#include "meta/leases.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

// A collection limited to what one failed call made (GarbageCollector::Rollback).
struct GcScope {
  std::string lease;  // the call's lease: dropped in the collection's transaction
  std::set<Digest> blobs;
  std::set<std::string> snapshots;  // native keys
};

struct GcOptions {
  // Report what would go; change nothing.
  bool dry_run = false;
  // Ingests idle this long are stale. Default: a day.
  absl::Duration ingest_max_age = absl::Hours(24);
  // Only these may go (ingests, leases and orphans are left alone). Default:
  // none, a full collection.
  const GcScope* scope = nullptr;
  // With dry_run: images whose names count as deleted, to say what deleting
  // them would free (prune's dry run). Default: none.
  const std::set<std::string>* without_images = nullptr;
};

struct GcItem {
  enum class Kind { kSnapshot, kBlob, kIngest, kLease, kOrphanDir, kOrphanBlobFile };
  Kind kind;
  std::string name;
  int64_t bytes = 0;  // disk space it frees
};

const char* GcKindName(GcItem::Kind kind);

struct GcReport {
  std::vector<GcItem> removed;  // or, for a dry run, what would be
  int64_t bytes = 0;
  int64_t blobs_kept = 0;
  int64_t snapshots_kept = 0;
  // How long writers waited on the collection (mark and record removal).
  absl::Duration writers_paused;
  absl::Duration elapsed;
};

class GarbageCollector {
 public:
  // All must outlive the collector.
  GarbageCollector(meta::Db* db, ContentStore* content, ImageStore* images,
                   snapshotter::Snapshotter* snapshots)
      : db_(db), content_(content), images_(images), snapshots_(snapshots), leases_(db) {}

  // `on_item` (optional) sees each item as it goes, snapshots leaves first.
  absl::StatusOr<GcReport> Collect(const GcOptions& options,
                                   const std::function<void(const GcItem&)>& on_item = nullptr);
  // Undoes a call that failed under `lease` (one of its own): drops the lease
  // and removes what the call created that nothing else holds, now (a full
  // mark, a sweep of those alone). What was there before the call stays.
  absl::StatusOr<GcReport> Rollback(const std::string& lease);

 private:
  // What a manifest or index blob references, transitively.
  struct Refs {
    std::vector<Digest> blobs;
    std::vector<Digest> chains;  // layer chainIDs, one per manifest layer
  };
  // Cached by digest (a blob never changes); reads and parses it on a miss.
  // An error if it cannot: a collection that cannot see what an image
  // references removes nothing. (A manifest an index names but the store
  // never had, another platform's, references nothing.)
  absl::StatusOr<const Refs*> RefsOf(const Descriptor& d, int depth)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_);
  // A full collection's last part: stale ingests, then what no record owns.
  absl::Status CollectLeftovers(const GcOptions& options,
                                const std::set<std::string>& leased_ingests,
                                const std::function<void(GcItem)>& emit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_);

  meta::Db* db_;
  ContentStore* content_;
  ImageStore* images_;
  snapshotter::Snapshotter* snapshots_;
  meta::Leases leases_;

  Mutex run_mu_;
  std::map<Digest, Refs> refs_cache_ ABSL_GUARDED_BY(run_mu_);
  std::set<Digest> refs_used_ ABSL_GUARDED_BY(run_mu_);
};

}  // namespace strata::layerstore
