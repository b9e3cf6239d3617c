// The overlay snapshotter: containerd's overlayfs snapshotter semantics over
// its metadata rules (MetaStore, meta_store.h) and directories named by
// numeric id.
//
// Ownership: metadata decides (keys, kinds, parents, labels, ids) in one
// write per operation; this class only creates and removes directories by
// id, each call shaped "prepare directory, one MetaStore call, finish
// directory". Crash ordering: a snapshot's directory is made before its
// record is written, and removed after its record is deleted, so a crash can
// leave an orphan directory (removed by recovery and Cleanup) but never a
// record without its directory.
//
// Thread-safe: any number of calls may run at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mount.h"
#include "common/mutex.h"
#include "meta/db.h"
#include "snapshotter/dir_pool.h"
#include "snapshotter/flattened_chains.h"
#include "snapshotter/layout.h"
#include "snapshotter/meta_store.h"
#include "snapshotter/sized_space.h"
#include "snapshotter/types.h"

namespace strata::snapshotter {

class Snapshotter {
 public:
  struct Options {
    // Store root; snapshots/ and tmp/ are made below it. Required.
    std::string root;
    // Empty snapshot directories kept ready. Default: 16 (see dir_pool.h).
    int ready_dirs = 16;
    // What makes sized writable layers (a Prepare labelled
    // containerd.io/snapshot/max-size): "auto" (the best this host can run),
    // "ext4-loop", or "none". Default: "auto".
    std::string sized_backend = "auto";
  };

  // What start-up recovery found and did.
  struct RecoveryReport {
    int tmp_entries_removed = 0;
    int orphan_dirs_removed = 0;
    // Sized layers' filesystems mounted again (after a reboot), and those
    // released because no record owns them (a crash inside a Prepare).
    int sized_restored = 0;
    int sized_released = 0;
    // Records whose directory is gone (power loss or tampering): kept and
    // reported, never silently dropped; fsck decides.
    std::vector<std::string> records_missing_dir;
  };

  // Opens the snapshotter over `db` (must outlive it) and runs start-up recovery.
  static absl::StatusOr<std::unique_ptr<Snapshotter>> Open(meta::Db* db, const Options& options);
  ~Snapshotter();  // finishes background directory removal

  const RecoveryReport& recovery_report() const { return recovery_; }
  const Layout& layout() const { return layout_; }
  // The backend making sized layers ("" when none) and, when none, why.
  std::string sized_backend() const { return sized_->maker_name(); }
  const std::string& sized_unavailable() const { return sized_->unavailable(); }

  // `lease` (optional, native key space only: containerd keeps its own
  // leases) holds what a call creates until the lease goes; see meta/leases.h.
  // A Prepare labelled with a size (space_backend.h) gets a writable layer
  // of its own filesystem, limited to that size; a View ignores the label.
  absl::StatusOr<std::vector<MountSpec>> Prepare(KeySpace space, const std::string& key,
                                                 const std::string& parent, const Labels& labels,
                                                 const std::string& lease = "");
  absl::StatusOr<std::vector<MountSpec>> View(KeySpace space, const std::string& key,
                                              const std::string& parent, const Labels& labels,
                                              const std::string& lease = "");
  // FailedPrecondition for a committed snapshot (it is only a parent).
  absl::StatusOr<std::vector<MountSpec>> Mounts(KeySpace space, const std::string& key);
  // Active `key` becomes committed `name`; the labels are the committed snapshot's.
  absl::Status Commit(KeySpace space, const std::string& name, const std::string& key,
                      const Labels& labels, const std::string& lease = "");
  // FailedPrecondition while the snapshot has children, or while `strata
  // mount` has it mounted (see RefuseIfMounted).
  absl::Status Remove(KeySpace space, const std::string& key);
  absl::StatusOr<Info> Stat(KeySpace space, const std::string& key);
  // Only labels are mutable; `fieldpaths` are "labels" or "labels.<key>"
  // (anything else: InvalidArgument). Empty replaces the labels and ignores
  // the rest of `info`, as containerd's snapshotters do.
  absl::StatusOr<Info> Update(KeySpace space, const Info& info,
                              const std::vector<std::string>& fieldpaths);
  // Committed: recorded at commit. Active and view: measured now.
  absl::StatusOr<Usage> GetUsage(KeySpace space, const std::string& key);
  // Calls fn for each snapshot matching `filters` (containerd syntax, OR-ed) in
  // key order, on a point-in-time view, holding no lock; fn returns false to stop.
  absl::Status Walk(KeySpace space, const std::vector<std::string>& filters,
                    const std::function<bool(const Info&)>& fn);
  // Removes directories that no record points to.
  absl::Status Cleanup();
  // Waits until directories of removed snapshots are gone (they go in the background).
  void WaitForBackgroundWork();

  // One finding of Check: what is wrong, whether it was repaired, and if not why.
  struct Problem {
    std::string what;
    bool repaired = false;
    std::string note;
  };
  // Matches every snapshot record with its directory and back. With `repair`:
  // orphan directories are removed, and records whose directory is gone are
  // removed when nothing depends on them (no children, not an image layer).
  absl::StatusOr<std::vector<Problem>> Check(bool repair, int64_t* records_checked);

  // --- Unpacked layers: one directory per chainID, shared by every snapshot
  // named after that chainID in either key space (DESIGN.md, "Two key spaces").

  using LayerInfo = snapshotter::LayerInfo;

  // A fresh directory to unpack a layer into: layout().FilesDir(id).
  absl::StatusOr<uint64_t> NewLayerDirectory();
  // Gives up a directory from NewLayerDirectory that was not committed.
  void DiscardLayerDirectory(uint64_t id);
  // Records an unpacked layer in `dir_id` and its committed snapshot named
  // `layer.chain_id` in `space`, above the snapshot named after the parent
  // chain (which must be recorded). AlreadyExists if the chain is already
  // recorded: the caller discards its directory and uses the recorded one.
  absl::Status RecordUnpackedLayer(KeySpace space, const LayerInfo& layer, uint64_t dir_id,
                                   const std::string& lease = "");
  absl::StatusOr<LayerInfo> GetLayer(const std::string& chain_id) const;
  // Every unpacked layer: chainID and directory id (for checking its files).
  absl::Status WalkLayers(const std::function<void(const LayerInfo&)>& fn) const;
  // Makes a recorded layer chain visible in `space`: committed snapshots named
  // by chainID for every layer of the chain missing there. With a lease, the
  // lease holds the chain's top (and so the whole chain); NotFound if the
  // layer has gone meanwhile.
  absl::Status AdoptLayerChain(KeySpace space, const std::string& chain_id,
                               const std::string& lease = "");

  // For committing a container into a layer: the upper directory of active
  // snapshot `key` and the chainID of its parent (empty for a base).
  // FailedPrecondition if `key` is not active, is mounted (RefuseIfMounted),
  // or its parent is not a layer.
  struct ActiveLayerBase {
    std::string upper_dir;
    std::string parent_chain_id;
  };
  absl::StatusOr<ActiveLayerBase> ActiveForLayerCommit(KeySpace space, const std::string& key);
  // Turns active `key` into the layer `layer.chain_id`: its upper directory
  // becomes the layer's directory (no copy) and the snapshot is committed
  // under the chainID. If that layer already exists (the same change made
  // before), the active snapshot is removed instead and the existing layer
  // made visible in `space`.
  absl::Status CommitActiveAsLayer(KeySpace space, const std::string& key, const LayerInfo& layer,
                                   const std::string& lease = "");

  // --- Garbage collection (layerstore/gc.h drives it).

  using Collectable = snapshotter::Collectable;
  using CollectPlan = snapshotter::CollectPlan;
  // REQUIRES: the caller holds `txn`, so no record changes until it commits.
  // Marks from the roots (every active or view snapshot, snapshots labelled
  // as gc roots, and `native_roots`), following parents, and stages in `txn`
  // the removal of every committed native snapshot not reached; with `only`,
  // of those in it alone (and never one whose child stays).
  absl::StatusOr<CollectPlan> StageCollect(meta::WriteTxn& txn,
                                           const std::set<std::string>& native_roots,
                                           const std::set<std::string>* only = nullptr);
  // After the transaction committed: removes the freed directories.
  void ReapCollected(const std::vector<Collectable>& swept);
  // What each snapshot directory (by id) holds, for disk accounting: an
  // unpacked or committed layer, a writable layer, or a view's empty upper.
  enum class DirUse { kLayer, kWritable, kView, kCommitted };
  absl::StatusOr<std::map<uint64_t, DirUse>> DirectoryUses() const;
  // Directories under snapshots/ that no record and no call in progress owns.
  absl::StatusOr<std::vector<std::string>> OrphanDirs() const;
  // Removes them (unless `dry_run`); returns each with the bytes it held.
  struct OrphanDir {
    std::string name;
    int64_t bytes = 0;
  };
  absl::StatusOr<std::vector<OrphanDir>> CollectOrphanDirs(bool dry_run);

 private:
  using SnapshotRecord = meta::v1::SnapshotRecord;

  // FailedPrecondition, naming the mount point, when `strata mount` labelled
  // native snapshot `rec` (kMountpointLabel) and that path is still a mount
  // point: as docker refuses to remove a running container. A label left by
  // a mount that is gone (a reboot, a umount(8) by hand) does not count.
  static absl::Status RefuseIfMounted(KeySpace space, const SnapshotRecord& rec,
                                      const std::string& key, absl::string_view verb);

  Snapshotter(meta::Db* db, Layout layout);
  // Removes snapshot directory `id`, giving back its sized space first.
  absl::Status RemoveSnapshotDir(uint64_t id);
  // Gives directory `id` the sized space `size` asks for.
  absl::StatusOr<meta::v1::SizedLayer> MakeSized(uint64_t id, const SizeRequest& size);
  // Usage of a record's directory: from its backend when sized, else walked.
  absl::StatusOr<DiskUsage> MeasureRecord(const SnapshotRecord& rec);
  // Removes orphan `name` under snapshots/ (and its sized space, if any).
  absl::Status RemoveOrphan(const std::string& name);
  // Start-up: mounts again the sized layers that `referenced` ids own and,
  // with `release`, gives back the others' space.
  absl::Status RecoverSizedSpace(const std::set<uint64_t>& referenced, bool release);
  // fsck's findings about sized space: filesystems of records not mounted,
  // space no record owns, stray loop devices.
  absl::Status CheckSizedSpace(bool repair, std::vector<Problem>* problems);

  absl::StatusOr<std::vector<MountSpec>> Create(KeySpace space, Kind kind, const std::string& key,
                                                const std::string& parent, const Labels& labels,
                                                const std::string& lease);
  // Gives f of a new child the owner and mode of its parent layer's root.
  absl::Status CopyRootAttributes(uint64_t id, uint64_t parent_id);
  absl::StatusOr<std::vector<MountSpec>> MountsFor(KeySpace space, const SnapshotRecord& rec);

  // Runs start-up recovery; returns the highest directory id ever used.
  absl::StatusOr<uint64_t> Recover();
  // The directory names not owned by a `referenced` or `pending` id.
  static std::vector<std::string> Unreferenced(const std::vector<std::string>& names,
                                               const std::set<uint64_t>& referenced,
                                               const std::set<uint64_t>& pending);

  const Layout layout_;
  MetaStore meta_;
  RecoveryReport recovery_;
  std::unique_ptr<SizedSpace> sized_;
  FlattenedChains flattened_{&layout_};
  std::unique_ptr<DirPool> pool_;  // null only during recovery
};

}  // namespace strata::snapshotter
