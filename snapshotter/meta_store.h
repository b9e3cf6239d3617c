// The snapshotter's metadata: the rules of keys, kinds, parents, labels,
// children, directory ids and layer references, over meta::Db, with no
// directory work (containerd splits its snapshotters the same way: storage/
// holds the rules, overlay/ the directories).
//
// Each write is one transaction (one WriteBatch under the writer lock), so a
// rule checked is a rule that holds when the batch lands. The filesystem side
// (Snapshotter) brackets each write: prepare a directory, one MetaStore call,
// finish the directory. Directory ids are handed to MetaStore, never made by
// it; the one filesystem fact it needs (a layer directory's usage, when a
// layer's snapshot is made visible in another key space) comes from the
// UsageOf function it is given.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fs.h"
#include "meta/db.h"
#include "meta/leases.h"
#include "snapshotter/types.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::snapshotter {

// An unpacked layer: one directory per chainID, shared by every snapshot
// named after that chainID in either key space (DESIGN.md, "Two key spaces").
struct LayerInfo {
  std::string chain_id;         // "sha256:<hex>"
  std::string parent_chain_id;  // empty for a base layer
  std::string diff_id;
  std::string blob_digest;
  std::string blob_media_type;
  int64_t blob_size = 0;
  int64_t unpacked_bytes = 0;
  int64_t entries = 0;
  uint64_t dir_id = 0;
  int64_t refs = 0;
  absl::Time created;
};

// A committed native snapshot that nothing reaches.
struct Collectable {
  std::string key;
  uint64_t dir_id = 0;
  // True when its directory goes with it (not a layer another record still
  // shares); `bytes` is then what that frees.
  bool frees_dir = false;
  int64_t bytes = 0;
  int depth = 0;  // parents below it; the sweep goes leaves first
};

struct CollectPlan {
  std::vector<Collectable> swept;  // leaves first
  int64_t kept = 0;                // native snapshots reached
};

class MetaStore {
 public:
  using SnapshotRecord = meta::v1::SnapshotRecord;
  // The usage of the directory with this id (see the header comment).
  using UsageOf = std::function<absl::StatusOr<DiskUsage>(uint64_t dir_id)>;

  // `db` must outlive the store.
  MetaStore(meta::Db* db, UsageOf usage_of);

  // The checks a Create makes before any directory is made for it.
  static absl::Status ValidateCreate(const std::string& key, const std::string& parent,
                                     const Labels& labels);
  // The checks a Commit makes before the directory is measured.
  static absl::Status ValidateCommit(const std::string& name, const std::string& key,
                                     const Labels& labels);

  // --- Reads.

  // NotFound if `key` has no record.
  absl::StatusOr<SnapshotRecord> Get(KeySpace space, const std::string& key) const;
  // FailedPrecondition (naming `verb`) unless `key` is active.
  absl::StatusOr<SnapshotRecord> GetActive(KeySpace space, const std::string& key,
                                           absl::string_view verb) const;
  // The directory id of `parent`, or of the unpacked layer it names when
  // that layer is not yet in this key space; NotFound if there is neither.
  absl::StatusOr<uint64_t> ParentDirId(KeySpace space, const std::string& parent) const;
  // The directory ids of `rec`'s parents, nearest first.
  absl::StatusOr<std::vector<uint64_t>> ParentDirIds(KeySpace space,
                                                     const SnapshotRecord& rec) const;
  absl::StatusOr<bool> HasChildren(KeySpace space, const std::string& key) const;
  // Calls fn for each snapshot matching `filters` (containerd syntax, OR-ed)
  // in key order, on a point-in-time view, holding no lock; fn returns false
  // to stop.
  absl::Status Walk(KeySpace space, const std::vector<std::string>& filters,
                    const std::function<bool(const Info&)>& fn) const;
  // Calls fn for every record of both key spaces; stops with an error at the
  // first one that cannot be decoded (never act on metadata we cannot read).
  absl::Status ForEachRecord(const std::function<void(const SnapshotRecord&)>& fn) const;
  // Calls fn for every record of both key spaces with its key space and key,
  // and a decode error in place of a record that cannot be read.
  absl::Status ScanRecords(
      const std::function<void(KeySpace, const std::string& key,
                               const absl::StatusOr<SnapshotRecord>&)>& fn) const;
  // Ids of every directory some snapshot record points to.
  absl::StatusOr<std::set<uint64_t>> ReferencedIds() const;
  // The highest directory id ever recorded (0 for none).
  absl::StatusOr<uint64_t> HighestIdRecorded() const;

  // --- Snapshot writes, one transaction each.

  // Records `key` (active or view) above committed `parent` (or an unpacked
  // layer named by chainID, adopted into `space` in the same transaction),
  // owning directory `dir_id` (a sized layer's filesystem when `sized`).
  // AlreadyExists, NotFound (parent), FailedPrecondition (parent not committed).
  absl::StatusOr<SnapshotRecord> Create(KeySpace space, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels,
                                        const std::string& lease, uint64_t dir_id,
                                        const meta::v1::SizedLayer* sized = nullptr);
  // Active `key` (which owned `dir_id` when its usage was measured) becomes
  // committed `name` with `usage`. FailedPrecondition if it changed meanwhile.
  absl::Status Commit(KeySpace space, const std::string& name, const std::string& key,
                      const Labels& labels, const std::string& lease, uint64_t dir_id,
                      const DiskUsage& usage);
  struct Removal {
    uint64_t dir_id = 0;
    bool frees_dir = false;  // false: a layer other records still share
    uint64_t ticket = 0;     // for meta::Db::AwaitDurable
  };
  // Removes `key`'s record without waiting for the sync (WriteTxn::CommitLater):
  // a removal lost to power failure only brings the snapshot back.
  // FailedPrecondition while it has children.
  absl::StatusOr<Removal> Remove(KeySpace space, const std::string& key);
  // Only labels are mutable; `fieldpaths` are "labels" or "labels.<key>"
  // (anything else: InvalidArgument). Empty replaces the labels and ignores
  // the rest of `info`, as containerd's snapshotters do.
  absl::StatusOr<Info> Update(KeySpace space, const Info& info,
                              const std::vector<std::string>& fieldpaths);

  // --- Layers.

  absl::StatusOr<LayerInfo> GetLayer(const std::string& chain_id) const;
  absl::Status WalkLayers(const std::function<void(const LayerInfo&)>& fn) const;
  // Records layer `layer.chain_id` in `dir_id` (with `usage`) and its
  // committed snapshot in `space`, above the parent chain's. AlreadyExists
  // if the chain is already recorded.
  absl::Status RecordLayer(KeySpace space, const LayerInfo& layer, uint64_t dir_id,
                           const DiskUsage& usage, const std::string& lease);
  // Makes a recorded chain visible in `space`; NotFound if it has gone.
  absl::Status AdoptLayerChain(KeySpace space, const std::string& chain_id,
                               const std::string& lease);
  // True if `labels` name a recorded layer (containerd.io/snapshot.ref)
  // that sits exactly on `parent` (containerd's remote-snapshotter protocol).
  bool IsKnownLayerOn(KeySpace space, const Labels& labels, const std::string& parent) const;
  // Active `key` (directory `dir_id`, measured as `usage`) becomes layer
  // `layer.chain_id`, its directory the layer's. If that layer exists
  // already, the active snapshot goes and the layer is adopted instead:
  // returns true when `dir_id` is then free.
  absl::StatusOr<bool> CommitActiveAsLayer(KeySpace space, const std::string& key,
                                           const LayerInfo& layer, uint64_t dir_id,
                                           const DiskUsage& usage, const std::string& lease);

  // --- Garbage collection (see Snapshotter::StageCollect).
  absl::StatusOr<CollectPlan> StageCollect(meta::WriteTxn& txn,
                                           const std::set<std::string>& native_roots,
                                           const std::set<std::string>* only) const;

 private:
  // Stages the records of `chain_id` and its parents that `space` lacks,
  // each taking a reference on its layer; true if it staged `chain_id` itself.
  absl::StatusOr<bool> StageAdoption(meta::WriteTxn& txn, KeySpace space,
                                     const std::string& chain_id) const;
  // Stages a new layer record (one reference) and its committed snapshot.
  absl::Status StageNewLayer(meta::WriteTxn& txn, KeySpace space, const LayerInfo& layer,
                             uint64_t dir_id, int64_t unpacked_bytes, const DiskUsage& usage) const;
  // Stages the release of one reference on a layer; true when it was the last.
  absl::StatusOr<bool> StageLayerRelease(meta::WriteTxn& txn, const std::string& chain_id) const;

  meta::Db* const db_;
  const UsageOf usage_of_;
};

}  // namespace strata::snapshotter
