// The directory half of garbage collection and orphan directories; the
// marking lives in MetaStore (meta_store_collect.cc).
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "snapshotter/snapshotter.h"

namespace strata::snapshotter {

absl::StatusOr<CollectPlan> Snapshotter::StageCollect(meta::WriteTxn& txn,
                                                      const std::set<std::string>& native_roots,
                                                      const std::set<std::string>* only) {
  return meta_.StageCollect(txn, native_roots, only);
}

void Snapshotter::ReapCollected(const std::vector<Collectable>& swept) {
  for (const Collectable& c : swept) {
    if (c.frees_dir) pool_->Reap(c.dir_id);
  }
  pool_->WaitForReaping();
}

absl::StatusOr<std::vector<std::string>> Snapshotter::OrphanDirs() const {
  // Order matters against concurrent Prepare: list directories (and sized
  // space), then the pending ids, then the records. A directory made before
  // the listing is either pending at the second step or recorded by the third.
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout_.SnapshotsDir()));
  // Sized space whose directory is already gone is named as its directory
  // would be, so it is released like any orphan.
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> held, sized_->Held());
  for (uint64_t id : held) {
    if (!PathExists(layout_.SnapshotDir(id))) names.push_back(Layout::IdName(id));
  }
  std::set<uint64_t> pending;
  if (pool_ != nullptr) pending = pool_->PendingIds();
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> referenced, meta_.ReferencedIds());
  return Unreferenced(names, referenced, pending);
}

std::vector<std::string> Snapshotter::Unreferenced(const std::vector<std::string>& names,
                                                   const std::set<uint64_t>& referenced,
                                                   const std::set<uint64_t>& pending) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    std::optional<uint64_t> id = Layout::ParseIdName(name);
    if (id && (referenced.count(*id) || pending.count(*id))) continue;
    out.push_back(name);
  }
  return out;
}

absl::StatusOr<std::vector<Snapshotter::OrphanDir>> Snapshotter::CollectOrphanDirs(bool dry_run) {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, OrphanDirs());
  std::vector<OrphanDir> out;
  for (const std::string& name : names) {
    std::string path = absl::StrCat(layout_.SnapshotsDir(), "/", name);
    absl::StatusOr<DiskUsage> du = MeasureDiskUsage(path);
    if (!dry_run) STRATA_RETURN_IF_ERROR(RemoveOrphan(name));
    out.push_back({name, du.ok() ? du->bytes : 0});
  }
  return out;
}

absl::Status Snapshotter::CheckSizedSpace(bool repair, std::vector<Problem>* problems) {
  // Records whose sized filesystem is not mounted (it failed to mount at
  // start-up, or someone unmounted it): the record's directory looks empty.
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> held, sized_->Held());
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> referenced, meta_.ReferencedIds());
  for (uint64_t id : held) {
    if (!referenced.count(id) || PathExists(layout_.FilesDir(id))) continue;
    Problem p{absl::StrCat("sized layer snapshots/", Layout::IdName(id), " is not mounted"), false,
              "--repair mounts it"};
    if (repair) {
      absl::Status restored = sized_->Restore(id);
      p.repaired = restored.ok();
      p.note = restored.ok() ? "mounted" : std::string(restored.message());
    }
    problems->push_back(std::move(p));
  }
  for (SpaceBackend::Stray& stray : sized_->Strays(repair)) {
    problems->push_back({std::move(stray.what), stray.repaired,
                         stray.repaired ? "detached" : "--repair detaches it"});
  }
  return absl::OkStatus();
}

}  // namespace strata::snapshotter
