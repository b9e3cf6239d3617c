#include "snapshotter/snapshotter.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mount.h"
#include "common/snapshot_labels.h"
#include "common/status_util.h"
#include "snapshotter/mount_specs.h"
#include "snapshotter/records.h"
#include "snapshotter/validation.h"

namespace strata::snapshotter {

Snapshotter::Snapshotter(meta::Db* db, Layout layout)
    : layout_(std::move(layout)),
      meta_(db, [this](uint64_t dir_id) { return MeasureDiskUsage(layout_.FilesDir(dir_id)); }) {}

Snapshotter::~Snapshotter() = default;

void Snapshotter::WaitForBackgroundWork() { pool_->WaitForReaping(); }

absl::StatusOr<std::unique_ptr<Snapshotter>> Snapshotter::Open(meta::Db* db,
                                                               const Options& options) {
  if (options.root.empty()) return absl::InvalidArgumentError("snapshotter root is empty");
  std::unique_ptr<Snapshotter> s(new Snapshotter(db, Layout(options.root)));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->layout_.SnapshotsDir(), 0700));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->layout_.TmpDir(), 0700));
  STRATA_ASSIGN_OR_RETURN(s->sized_, SizedSpace::Open(&s->layout_, options.sized_backend));
  STRATA_ASSIGN_OR_RETURN(uint64_t max_id, s->Recover());
  Snapshotter* raw = s.get();
  s->pool_ =
      std::make_unique<DirPool>(&s->layout_, db, max_id + 1, DirPool::Options{options.ready_dirs},
                                [raw](uint64_t id) { return raw->RemoveSnapshotDir(id); });
  return s;
}

absl::Status Snapshotter::RemoveSnapshotDir(uint64_t id) {
  // Space first: a directory still mounted cannot be removed, and removing
  // the files inside a mounted layer would only be slower.
  STRATA_RETURN_IF_ERROR(sized_->Release(id));
  return RemoveTree(layout_.SnapshotDir(id));
}

absl::StatusOr<meta::v1::SizedLayer> Snapshotter::MakeSized(uint64_t id, const SizeRequest& size) {
  absl::StatusOr<meta::v1::SizedLayer> made = sized_->Make(id, size);
  if (absl::IsResourceExhausted(made.status())) {
    // Removed layers give their space back in the background: a fixed layer
    // made right after one was removed waits for that once before failing.
    pool_->WaitForReaping();
    made = sized_->Make(id, size);
  }
  return made;
}

absl::StatusOr<DiskUsage> Snapshotter::MeasureRecord(const SnapshotRecord& rec) {
  if (rec.has_sized()) return sized_->Measure(rec.id(), rec.sized());
  return MeasureDiskUsage(layout_.FilesDir(rec.id()));
}

absl::Status Snapshotter::CopyRootAttributes(uint64_t id, uint64_t parent_id) {
  // overlayfs takes the merged root's owner and mode from the upper dir, so
  // the upper dir copies the parent layer's root.
  struct stat parent_st;
  std::string parent_files = layout_.FilesDir(parent_id);
  if (::stat(parent_files.c_str(), &parent_st) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("stat ", parent_files));
  }
  std::string files = layout_.FilesDir(id);
  struct stat st;
  if (::stat(files.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", files));
  if ((st.st_uid != parent_st.st_uid || st.st_gid != parent_st.st_gid) &&
      ::chown(files.c_str(), parent_st.st_uid, parent_st.st_gid) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("chown ", files));
  }
  if ((st.st_mode & 07777) != (parent_st.st_mode & 07777) &&
      ::chmod(files.c_str(), parent_st.st_mode & 07777) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("chmod ", files));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::Prepare(KeySpace space, const std::string& key,
                                                            const std::string& parent,
                                                            const Labels& labels,
                                                            const std::string& lease) {
  return Create(space, Kind::kActive, key, parent, labels, lease);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::View(KeySpace space, const std::string& key,
                                                         const std::string& parent,
                                                         const Labels& labels,
                                                         const std::string& lease) {
  return Create(space, Kind::kView, key, parent, labels, lease);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::Create(KeySpace space, Kind kind,
                                                           const std::string& key,
                                                           const std::string& parent,
                                                           const Labels& labels,
                                                           const std::string& lease) {
  STRATA_RETURN_IF_ERROR(MetaStore::ValidateCreate(key, parent, labels));
  if (space == KeySpace::kNative) STRATA_RETURN_IF_ERROR(ValidateNativeKey(key, "key"));
  // A size on a view is ignored, as containerd ignores it.
  std::optional<SizeRequest> size;
  if (kind == Kind::kActive) {
    STRATA_ASSIGN_OR_RETURN(size, SizeRequestFromLabels(labels));
    if (size) STRATA_RETURN_IF_ERROR(sized_->Check(*size));
  }
  if (kind == Kind::kActive && meta_.IsKnownLayerOn(space, labels, parent)) {
    // containerd's remote-snapshotter protocol: the extraction snapshot's
    // target layer is already unpacked here. Make it visible in this key
    // space and say so; containerd then skips fetching and unpacking it.
    const std::string& chain = labels.at("containerd.io/snapshot.ref");
    STRATA_RETURN_IF_ERROR(meta_.AdoptLayerChain(space, chain, ""));
    return absl::AlreadyExistsError(absl::StrCat("target snapshot \"", chain, "\" already exists"));
  }
  std::optional<uint64_t> parent_id;
  if (!parent.empty()) {
    STRATA_ASSIGN_OR_RETURN(parent_id, meta_.ParentDirId(space, parent));
  }
  // Directory first, record second: a crash between leaves an orphan.
  STRATA_ASSIGN_OR_RETURN(uint64_t id, pool_->Acquire());
  absl::StatusOr<SnapshotRecord> rec = [&]() -> absl::StatusOr<SnapshotRecord> {
    std::optional<meta::v1::SizedLayer> sized;
    if (size) {
      STRATA_ASSIGN_OR_RETURN(sized, MakeSized(id, *size));
    }
    if (parent_id) STRATA_RETURN_IF_ERROR(CopyRootAttributes(id, *parent_id));
    return meta_.Create(space, kind, key, parent, labels, lease, id, sized ? &*sized : nullptr);
  }();
  if (!rec.ok()) {
    pool_->Discard(id);  // nothing points at the directory (or its sized space)
    return rec.status();
  }
  pool_->Recorded(id);
  return MountsFor(space, *rec);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::MountsFor(KeySpace space,
                                                              const SnapshotRecord& rec) {
  STRATA_ASSIGN_OR_RETURN(std::vector<uint64_t> parent_ids, meta_.ParentDirIds(space, rec));
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> lowers, flattened_.LowerDirs(parent_ids));
  return BuildMounts(layout_, KindFromRecord(rec.kind()), rec.id(), lowers);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::Mounts(KeySpace space, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, meta_.Get(space, key));
  if (rec.kind() == meta::v1::SNAPSHOT_KIND_COMMITTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot \"", key, "\" is committed; only active and view snapshots mount"));
  }
  return MountsFor(space, rec);
}

absl::Status Snapshotter::Commit(KeySpace space, const std::string& name, const std::string& key,
                                 const Labels& labels, const std::string& lease) {
  STRATA_RETURN_IF_ERROR(MetaStore::ValidateCommit(name, key, labels));
  if (space == KeySpace::kNative) STRATA_RETURN_IF_ERROR(ValidateNativeKey(name, "name"));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord active, meta_.GetActive(space, key, "commit"));
  // Measured before the transaction: a committed layer's usage never changes.
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureRecord(active));
  return meta_.Commit(space, name, key, labels, lease, active.id(), usage);
}

absl::Status Snapshotter::RefuseIfMounted(KeySpace space, const SnapshotRecord& rec,
                                          const std::string& key, absl::string_view verb) {
  if (space != KeySpace::kNative) return absl::OkStatus();  // containerd mounts its own
  auto label = rec.labels().find(kMountpointLabel);
  if (label == rec.labels().end() || !IsMountPoint(label->second)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(verb, " \"", key, "\": snapshot is mounted at ",
                                                    label->second, " (unmount it first)"));
}

absl::Status Snapshotter::Remove(KeySpace space, const std::string& key) {
  if (space == KeySpace::kNative) {
    absl::StatusOr<SnapshotRecord> rec = meta_.Get(space, key);
    if (rec.ok()) STRATA_RETURN_IF_ERROR(RefuseIfMounted(space, *rec, key, "remove"));
  }
  STRATA_ASSIGN_OR_RETURN(MetaStore::Removal removal, meta_.Remove(space, key));
  // Metadata first, directory after (in the background, once the removal is
  // durable): a crash before the directory is gone leaves an orphan, which
  // recovery and Cleanup remove.
  if (removal.frees_dir) pool_->Reap(removal.dir_id, removal.ticket);
  return absl::OkStatus();
}

absl::StatusOr<Info> Snapshotter::Stat(KeySpace space, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, meta_.Get(space, key));
  return InfoFromRecord(key, rec);
}

absl::StatusOr<Info> Snapshotter::Update(KeySpace space, const Info& info,
                                         const std::vector<std::string>& fieldpaths) {
  auto mountpoint = info.labels.find(kMountpointLabel);
  if (space == KeySpace::kNative && mountpoint != info.labels.end()) {
    STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, meta_.Get(space, info.name));
    if (rec.kind() == meta::v1::SNAPSHOT_KIND_ACTIVE) {
      STRATA_RETURN_IF_ERROR(RefuseIfMounted(space, rec, info.name, "mount"));
    }
  }
  return meta_.Update(space, info, fieldpaths);
}

absl::StatusOr<Usage> Snapshotter::GetUsage(KeySpace space, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, meta_.Get(space, key));
  if (rec.kind() == meta::v1::SNAPSHOT_KIND_COMMITTED) {
    return Usage{rec.size_bytes(), rec.inodes()};
  }
  STRATA_ASSIGN_OR_RETURN(DiskUsage du, MeasureRecord(rec));
  return Usage{du.bytes, du.inodes};
}

absl::Status Snapshotter::Walk(KeySpace space, const std::vector<std::string>& filters,
                               const std::function<bool(const Info&)>& fn) {
  return meta_.Walk(space, filters, fn);
}

absl::StatusOr<std::map<uint64_t, Snapshotter::DirUse>> Snapshotter::DirectoryUses() const {
  std::map<uint64_t, DirUse> uses;
  STRATA_RETURN_IF_ERROR(meta_.ForEachRecord([&](const SnapshotRecord& rec) {
    DirUse use = DirUse::kCommitted;
    if (!rec.layer_chain_id().empty()) use = DirUse::kLayer;
    if (rec.kind() == meta::v1::SNAPSHOT_KIND_ACTIVE) use = DirUse::kWritable;
    if (rec.kind() == meta::v1::SNAPSHOT_KIND_VIEW) use = DirUse::kView;
    uses.emplace(rec.id(), use);
  }));
  STRATA_RETURN_IF_ERROR(WalkLayers([&](const LayerInfo& l) { uses[l.dir_id] = DirUse::kLayer; }));
  return uses;
}

absl::Status Snapshotter::Cleanup() { return CollectOrphanDirs(/*dry_run=*/false).status(); }

absl::StatusOr<std::vector<Snapshotter::Problem>> Snapshotter::Check(bool repair,
                                                                     int64_t* records_checked) {
  std::vector<Problem> problems;
  // First, so a repaired mount is not then taken for a missing directory.
  STRATA_RETURN_IF_ERROR(CheckSizedSpace(repair, &problems));
  // Records whose directory is gone: key space, key, whether it is a layer.
  std::vector<std::tuple<KeySpace, std::string, bool>> missing;
  int64_t n = 0;
  STRATA_RETURN_IF_ERROR(meta_.ScanRecords(
      [&](KeySpace space, const std::string& key, const absl::StatusOr<SnapshotRecord>& rec) {
        ++n;
        if (!rec.ok()) {
          problems.push_back({std::string(rec.status().message()), false, "corrupt record"});
        } else if (!PathExists(layout_.FilesDir(rec->id()))) {
          missing.emplace_back(space, key, !rec->layer_chain_id().empty());
        }
      }));
  if (records_checked != nullptr) *records_checked = n;
  for (const auto& [space, key, is_layer] : missing) {
    Problem p{absl::StrCat("snapshot \"", key, "\": its directory is missing"), false, ""};
    STRATA_ASSIGN_OR_RETURN(bool children, meta_.HasChildren(space, key));
    if (is_layer || children) {
      p.note = "cannot repair: other snapshots depend on it; re-import the image";
    } else if (repair) {
      absl::Status removed = Remove(space, key);
      if (absl::IsNotFound(removed)) continue;  // removed since the scan
      STRATA_RETURN_IF_ERROR(removed);
      p.repaired = true;
      p.note = "record removed";
    } else {
      p.note = "--repair removes the record";
    }
    problems.push_back(std::move(p));
  }
  // Directories no record points to.
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> orphans, OrphanDirs());
  for (const std::string& name : orphans) {
    Problem p{absl::StrCat("directory snapshots/", name, " belongs to no snapshot"), false, ""};
    if (repair) {
      STRATA_RETURN_IF_ERROR(RemoveOrphan(name));
      p.repaired = true;
      p.note = "removed";
    } else {
      p.note = "--repair removes it";
    }
    problems.push_back(std::move(p));
  }
  return problems;
}

absl::StatusOr<uint64_t> Snapshotter::Recover() {
  // A crash while measuring a new ext4 template leaves it mounted in tmp/.
  for (const std::string& mount : MountPointsUnder(layout_.TmpDir())) {
    if (::umount2(mount.c_str(), MNT_DETACH) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("unmount ", mount));
    }
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> tmp, ListDir(layout_.TmpDir()));
  for (const std::string& name : tmp) {
    STRATA_RETURN_IF_ERROR(RemoveTree(absl::StrCat(layout_.TmpDir(), "/", name)));
  }
  recovery_.tmp_entries_removed = static_cast<int>(tmp.size());

  // One pass over the records: the highest id and the directories they own.
  // Nothing runs concurrently yet.
  STRATA_ASSIGN_OR_RETURN(uint64_t max_id, meta_.HighestIdRecorded());
  std::set<uint64_t> referenced;
  std::vector<std::pair<std::string, uint64_t>> owners;  // key space + key, id
  bool corrupt = false;
  STRATA_RETURN_IF_ERROR(meta_.ScanRecords(
      [&](KeySpace space, const std::string& key, const absl::StatusOr<SnapshotRecord>& rec) {
        if (!rec.ok()) {
          corrupt = true;  // reported by fsck; one bad record must not stop start-up
          return;
        }
        referenced.insert(rec->id());
        if (rec->id() > max_id) max_id = rec->id();
        owners.emplace_back(static_cast<char>(space) + key, rec->id());
      }));
  // Sized layers first: after a reboot their directories are mount points
  // again only once mounted.
  STRATA_RETURN_IF_ERROR(RecoverSizedSpace(referenced, /*release=*/!corrupt));
  for (const auto& [key, id] : owners) {
    if (!PathExists(layout_.FilesDir(id))) recovery_.records_missing_dir.push_back(key);
  }
  for (const std::string& key : recovery_.records_missing_dir) {
    log::Error("snapshot record without its directory", {{"key", key.substr(1)}});
  }
  if (corrupt) {
    // A corrupt record's directory cannot be told from an orphan: keep all.
    log::Error("corrupt snapshot records: orphan directories kept; run strata fsck");
    return max_id;
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout_.SnapshotsDir()));
  for (const std::string& name : Unreferenced(names, referenced, {})) {
    STRATA_RETURN_IF_ERROR(RemoveOrphan(name));
    ++recovery_.orphan_dirs_removed;
  }
  if (recovery_.orphan_dirs_removed > 0) {
    log::Info("removed orphan snapshot dirs",
              {{"count", std::to_string(recovery_.orphan_dirs_removed)}});
  }
  return max_id;
}

absl::Status Snapshotter::RecoverSizedSpace(const std::set<uint64_t>& referenced, bool release) {
  STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> held, sized_->Held());
  for (uint64_t id : held) {
    if (referenced.count(id)) {
      // Failing to mount one layer must not stop the store: its record is
      // then reported as missing its directory, and fsck says more.
      absl::Status restored = sized_->Restore(id);
      if (restored.ok()) {
        ++recovery_.sized_restored;
      } else {
        log::Error("mount sized layer", {{"id", Layout::IdName(id)}, {"err", restored.ToString()}});
      }
    } else if (release) {
      // Made by a Prepare that died before its record: the directory goes
      // with the orphans.
      STRATA_RETURN_IF_ERROR(sized_->Release(id));
      ++recovery_.sized_released;
    }
  }
  return absl::OkStatus();
}

absl::Status Snapshotter::RemoveOrphan(const std::string& name) {
  std::optional<uint64_t> id = Layout::ParseIdName(name);
  if (id) return RemoveSnapshotDir(*id);
  return RemoveTree(absl::StrCat(layout_.SnapshotsDir(), "/", name));
}

}  // namespace strata::snapshotter
