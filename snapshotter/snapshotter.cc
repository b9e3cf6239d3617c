#include "snapshotter/snapshotter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "snapshotter/filter.h"
#include "snapshotter/mount_specs.h"
#include "snapshotter/records.h"
#include "snapshotter/validation.h"

namespace strata::snapshotter {
namespace {

using meta::Family;

std::string Encode(const SnapshotRecord& rec) {
  std::string out;
  rec.SerializeToString(&out);
  return out;
}

absl::Status NotFound(absl::string_view key) {
  return absl::NotFoundError(absl::StrCat("snapshot \"", key, "\" does not exist"));
}

// Stages the id counter so ids stay unique across restarts.
absl::Status BumpIdCounter(meta::WriteTxn& txn, uint64_t id) {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                          txn.Get(Family::kIds, kSnapshotIdCounter));
  if (!raw || meta::DecodeFixed64(*raw) < id) {
    txn.Put(Family::kIds, kSnapshotIdCounter, meta::EncodeFixed64(id));
  }
  return absl::OkStatus();
}

// Applies an Update's field paths to `labels`.
absl::Status ApplyLabelUpdate(const Info& info, const std::vector<std::string>& fieldpaths,
                              Labels& labels) {
  if (fieldpaths.empty()) {
    labels = info.labels;
    return absl::OkStatus();
  }
  for (const std::string& path : fieldpaths) {
    if (path == "labels") {
      labels = info.labels;
    } else if (absl::StartsWith(path, "labels.")) {
      std::string key = path.substr(sizeof("labels.") - 1);
      auto it = info.labels.find(key);
      if (it == info.labels.end()) {
        labels.erase(key);
      } else {
        labels[key] = it->second;
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot \"", info.name, "\": field \"", path, "\" cannot be updated"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Snapshotter::Snapshotter(meta::Db* db, Layout layout) : db_(db), layout_(std::move(layout)) {}

Snapshotter::~Snapshotter() = default;

void Snapshotter::WaitForBackgroundWork() { pool_->WaitForReaping(); }

absl::StatusOr<std::unique_ptr<Snapshotter>> Snapshotter::Open(meta::Db* db,
                                                               const Options& options) {
  if (options.root.empty()) return absl::InvalidArgumentError("snapshotter root is empty");
  std::unique_ptr<Snapshotter> s(new Snapshotter(db, Layout(options.root)));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->layout_.SnapshotsDir(), 0700));
  STRATA_RETURN_IF_ERROR(MakeDirs(s->layout_.TmpDir(), 0700));
  STRATA_ASSIGN_OR_RETURN(uint64_t max_id, s->Recover());
  s->pool_ =
      std::make_unique<DirPool>(&s->layout_, db, max_id + 1, DirPool::Options{options.ready_dirs});
  return s;
}

absl::StatusOr<SnapshotRecord> Snapshotter::GetRecord(KeySpace space,
                                                      const std::string& key) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                          db_->Get(Family::kSnapshots, RecordKey(space, key)));
  if (!raw) return NotFound(key);
  return DecodeRecord(key, *raw);
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

absl::StatusOr<uint64_t> Snapshotter::ParentDirId(KeySpace space, const std::string& parent) {
  absl::StatusOr<SnapshotRecord> p = GetRecord(space, parent);
  if (absl::IsNotFound(p.status())) {
    // A parent named by chainID that is unpacked (through the other API):
    // Create adopts its chain into this key space.
    absl::StatusOr<LayerInfo> layer = GetLayer(parent);
    if (layer.ok()) return layer->dir_id;
    return absl::NotFoundError(absl::StrCat("parent snapshot \"", parent, "\" does not exist"));
  }
  STRATA_RETURN_IF_ERROR(p.status());
  return p->id();
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::Create(KeySpace space, Kind kind,
                                                           const std::string& key,
                                                           const std::string& parent,
                                                           const Labels& labels,
                                                           const std::string& lease) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  if (!parent.empty()) STRATA_RETURN_IF_ERROR(ValidateKey(parent, "parent"));
  STRATA_RETURN_IF_ERROR(ValidateLabels(labels));
  if (kind == Kind::kActive && IsKnownLayerOn(space, labels, parent)) {
    // containerd's remote-snapshotter protocol: the extraction snapshot's
    // target layer is already unpacked here. Make it visible in this key
    // space and say so; containerd then skips fetching and unpacking it.
    const std::string& chain = labels.at("containerd.io/snapshot.ref");
    STRATA_RETURN_IF_ERROR(AdoptLayerChain(space, chain));
    return absl::AlreadyExistsError(absl::StrCat("target snapshot \"", chain, "\" already exists"));
  }
  std::optional<uint64_t> parent_id;
  if (!parent.empty()) {
    STRATA_ASSIGN_OR_RETURN(parent_id, ParentDirId(space, parent));
  }

  STRATA_ASSIGN_OR_RETURN(uint64_t id, pool_->Acquire());
  SnapshotRecord rec;
  absl::Status status = [&]() -> absl::Status {
    if (parent_id) STRATA_RETURN_IF_ERROR(CopyRootAttributes(id, *parent_id));
    meta::WriteTxn txn(db_);
    STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> existing, TxnRecord(txn, space, key));
    if (existing) {
      return absl::AlreadyExistsError(absl::StrCat("snapshot \"", key, "\" already exists"));
    }
    if (!parent.empty()) {
      STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> p, TxnRecord(txn, space, parent));
      if (!p) {
        // An unpacked layer not yet in this key space is adopted in this
        // same transaction, so nothing (not even GC) can remove it between.
        absl::Status adopted = StageAdoption(txn, space, parent).status();
        if (absl::IsNotFound(adopted)) {
          return absl::NotFoundError(
              absl::StrCat("parent snapshot \"", parent, "\" does not exist"));
        }
        STRATA_RETURN_IF_ERROR(adopted);
      } else if (p->kind() != meta::v1::SNAPSHOT_KIND_COMMITTED) {
        return absl::FailedPreconditionError(absl::StrCat("parent snapshot \"", parent, "\" is ",
                                                          KindName(KindFromRecord(p->kind())),
                                                          ", not committed"));
      }
      txn.Put(Family::kChildren, ChildKey(space, parent, key), "");
    }
    int64_t now = NowNanos();
    rec.set_id(id);
    rec.set_kind(KindToRecord(kind));
    rec.set_parent(parent);
    rec.mutable_labels()->insert(labels.begin(), labels.end());
    rec.set_created_unix_nanos(now);
    rec.set_updated_unix_nanos(now);
    txn.Put(Family::kSnapshots, RecordKey(space, key), Encode(rec));
    STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, key, lease, meta::LeaseHold::kCreated));
    STRATA_RETURN_IF_ERROR(BumpIdCounter(txn, id));
    return txn.Commit();
  }();
  if (!status.ok()) {
    pool_->Discard(id);  // nothing points at the directory
    return status;
  }
  pool_->Recorded(id);
  return MountsFor(space, rec);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::MountsFor(KeySpace space,
                                                              const SnapshotRecord& rec) {
  std::vector<uint64_t> parent_ids;
  std::string parent = rec.parent();
  while (!parent.empty()) {
    absl::StatusOr<SnapshotRecord> p = GetRecord(space, parent);
    if (!p.ok()) return Annotate(p.status(), "resolve parent chain");
    parent_ids.push_back(p->id());
    parent = p->parent();
  }
  return BuildMounts(layout_, KindFromRecord(rec.kind()), rec.id(), parent_ids);
}

absl::StatusOr<std::vector<MountSpec>> Snapshotter::Mounts(KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, GetRecord(space, key));
  if (rec.kind() == meta::v1::SNAPSHOT_KIND_COMMITTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot \"", key, "\" is committed; only active and view snapshots mount"));
  }
  return MountsFor(space, rec);
}

absl::Status Snapshotter::Commit(KeySpace space, const std::string& name, const std::string& key,
                                 const Labels& labels, const std::string& lease) {
  STRATA_RETURN_IF_ERROR(ValidateKey(name, "name"));
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_RETURN_IF_ERROR(ValidateLabels(labels));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord active, GetRecord(space, key));
  if (active.kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) {
    return absl::FailedPreconditionError(absl::StrCat("commit \"", key, "\": snapshot is ",
                                                      KindName(KindFromRecord(active.kind())),
                                                      ", not active"));
  }
  // Measured before the transaction: a committed layer's usage never changes.
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(active.id())));

  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> current, TxnRecord(txn, space, key));
  if (!current || current->id() != active.id() ||
      current->kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit \"", key, "\": snapshot changed during commit"));
  }
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> existing, TxnRecord(txn, space, name));
  if (existing) {
    return absl::AlreadyExistsError(absl::StrCat("snapshot \"", name, "\" already exists"));
  }
  SnapshotRecord committed;
  int64_t now = NowNanos();
  committed.set_id(current->id());
  committed.set_kind(meta::v1::SNAPSHOT_KIND_COMMITTED);
  committed.set_parent(current->parent());
  committed.mutable_labels()->insert(labels.begin(), labels.end());
  committed.set_created_unix_nanos(now);
  committed.set_updated_unix_nanos(now);
  committed.set_size_bytes(usage.bytes);
  committed.set_inodes(usage.inodes);
  txn.Delete(Family::kSnapshots, RecordKey(space, key));
  txn.Put(Family::kSnapshots, RecordKey(space, name), Encode(committed));
  if (!current->parent().empty()) {
    txn.Delete(Family::kChildren, ChildKey(space, current->parent(), key));
    txn.Put(Family::kChildren, ChildKey(space, current->parent(), name), "");
  }
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, name, lease));
  return txn.Commit();
}

absl::StatusOr<bool> Snapshotter::HasChildren(KeySpace space, const std::string& key) const {
  bool found = false;
  STRATA_RETURN_IF_ERROR(db_->Scan(Family::kChildren, ChildPrefix(space, key),
                                   [&](absl::string_view, absl::string_view) {
                                     found = true;
                                     return false;
                                   }));
  return found;
}

absl::Status Snapshotter::Remove(KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  uint64_t id;
  uint64_t ticket;
  bool reap = true;  // a layer's directory goes only with its last reference
  {
    meta::WriteTxn txn(db_);
    STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> rec, TxnRecord(txn, space, key));
    if (!rec) return NotFound(key);
    STRATA_ASSIGN_OR_RETURN(bool has_children, HasChildren(space, key));
    if (has_children) {
      return absl::FailedPreconditionError(
          absl::StrCat("remove \"", key, "\": snapshot has children"));
    }
    txn.Delete(Family::kSnapshots, RecordKey(space, key));
    if (!rec->parent().empty()) txn.Delete(Family::kChildren, ChildKey(space, rec->parent(), key));
    id = rec->id();
    if (!rec->layer_chain_id().empty()) {
      STRATA_RETURN_IF_ERROR(StageLayerRelease(txn, rec->layer_chain_id(), &reap));
    }
    // Not waited for: a removal lost to a power failure only brings back a
    // snapshot that the next collection removes again, and the directory
    // stays until the removal is durable. The next synced write, or the
    // reaper within milliseconds, makes it durable.
    STRATA_ASSIGN_OR_RETURN(ticket, txn.CommitLater());
  }
  // Metadata first, directory after (in the background): a crash before the
  // directory is gone leaves an orphan, which recovery and Cleanup remove.
  if (reap) pool_->Reap(id, ticket);
  return absl::OkStatus();
}

absl::StatusOr<Info> Snapshotter::Stat(KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, GetRecord(space, key));
  return InfoFromRecord(key, rec);
}

absl::StatusOr<Info> Snapshotter::Update(KeySpace space, const Info& info,
                                         const std::vector<std::string>& fieldpaths) {
  STRATA_RETURN_IF_ERROR(ValidateKey(info.name, "name"));
  STRATA_RETURN_IF_ERROR(ValidateLabels(info.labels));
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> rec, TxnRecord(txn, space, info.name));
  if (!rec) return NotFound(info.name);
  // Without field paths only the mutable fields (labels) are replaced and
  // the rest of `info` is ignored, as containerd's own snapshotters do (its
  // conformance suite sends an Info whose parent differs and expects success).
  Labels labels(rec->labels().begin(), rec->labels().end());
  STRATA_RETURN_IF_ERROR(ApplyLabelUpdate(info, fieldpaths, labels));
  STRATA_RETURN_IF_ERROR(ValidateLabels(labels));
  rec->mutable_labels()->clear();
  rec->mutable_labels()->insert(labels.begin(), labels.end());
  rec->set_updated_unix_nanos(NowNanos());
  txn.Put(Family::kSnapshots, RecordKey(space, info.name), Encode(*rec));
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return InfoFromRecord(info.name, *rec);
}

absl::StatusOr<Usage> Snapshotter::GetUsage(KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, GetRecord(space, key));
  if (rec.kind() == meta::v1::SNAPSHOT_KIND_COMMITTED) {
    return Usage{rec.size_bytes(), rec.inodes()};
  }
  STRATA_ASSIGN_OR_RETURN(DiskUsage du, MeasureDiskUsage(layout_.FilesDir(rec.id())));
  return Usage{du.bytes, du.inodes};
}

absl::Status Snapshotter::Walk(KeySpace space, const std::vector<std::string>& filters,
                               const std::function<bool(const Info&)>& fn) {
  STRATA_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
  absl::Status decode_error;
  std::string prefix(1, static_cast<char>(space));
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kSnapshots, prefix, [&](absl::string_view k, absl::string_view v) {
        absl::string_view key = k.substr(1);
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(key, v);
        if (!rec.ok()) {
          decode_error = rec.status();
          return false;
        }
        Info info = InfoFromRecord(key, *rec);
        return !filter.Match(info) || fn(info);
      }));
  return decode_error;
}

absl::Status Snapshotter::ForEachRecord(
    const std::function<void(const SnapshotRecord&)>& fn) const {
  absl::Status decode_error;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kSnapshots, "", [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(k.substr(1), v);
        if (!rec.ok()) {
          decode_error = rec.status();  // never act on metadata we cannot read
          return false;
        }
        fn(*rec);
        return true;
      }));
  return decode_error;
}

absl::StatusOr<std::map<uint64_t, Snapshotter::DirUse>> Snapshotter::DirectoryUses() const {
  std::map<uint64_t, DirUse> uses;
  STRATA_RETURN_IF_ERROR(ForEachRecord([&](const SnapshotRecord& rec) {
    DirUse use = DirUse::kCommitted;
    if (!rec.layer_chain_id().empty()) use = DirUse::kLayer;
    if (rec.kind() == meta::v1::SNAPSHOT_KIND_ACTIVE) use = DirUse::kWritable;
    if (rec.kind() == meta::v1::SNAPSHOT_KIND_VIEW) use = DirUse::kView;
    uses.emplace(rec.id(), use);
  }));
  STRATA_RETURN_IF_ERROR(WalkLayers([&](const LayerInfo& l) { uses[l.dir_id] = DirUse::kLayer; }));
  return uses;
}

absl::StatusOr<std::set<uint64_t>> Snapshotter::ReferencedIds() const {
  std::set<uint64_t> ids;
  STRATA_RETURN_IF_ERROR(ForEachRecord([&](const SnapshotRecord& rec) { ids.insert(rec.id()); }));
  return ids;
}

absl::Status Snapshotter::Cleanup() { return CollectOrphanDirs(/*dry_run=*/false).status(); }

absl::StatusOr<std::vector<Snapshotter::Problem>> Snapshotter::Check(bool repair,
                                                                     int64_t* records_checked) {
  std::vector<Problem> problems;
  // Records whose directory is gone: key space, key, whether it is a layer.
  std::vector<std::tuple<KeySpace, std::string, bool>> missing;
  int64_t n = 0;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kSnapshots, "", [&](absl::string_view k, absl::string_view v) {
        ++n;
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(k.substr(1), v);
        if (!rec.ok()) {
          problems.push_back({std::string(rec.status().message()), false, "corrupt record"});
        } else if (!PathExists(layout_.FilesDir(rec->id()))) {
          missing.emplace_back(static_cast<KeySpace>(k[0]), std::string(k.substr(1)),
                               !rec->layer_chain_id().empty());
        }
        return true;
      }));
  if (records_checked != nullptr) *records_checked = n;
  for (const auto& [space, key, is_layer] : missing) {
    Problem p{absl::StrCat("snapshot \"", key, "\": its directory is missing"), false, ""};
    STRATA_ASSIGN_OR_RETURN(bool children, HasChildren(space, key));
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
      STRATA_RETURN_IF_ERROR(RemoveTree(absl::StrCat(layout_.SnapshotsDir(), "/", name)));
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
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> tmp, ListDir(layout_.TmpDir()));
  for (const std::string& name : tmp) {
    STRATA_RETURN_IF_ERROR(RemoveTree(absl::StrCat(layout_.TmpDir(), "/", name)));
  }
  recovery_.tmp_entries_removed = static_cast<int>(tmp.size());

  // One pass over the records: the highest id, the directories they own,
  // and records whose directory is gone. Nothing runs concurrently yet.
  uint64_t max_id = 0;
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> counter,
                          db_->Get(Family::kIds, kSnapshotIdCounter));
  if (counter) max_id = meta::DecodeFixed64(*counter);
  std::set<uint64_t> referenced;
  bool corrupt = false;
  absl::Status status =
      db_->Scan(Family::kSnapshots, "", [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<SnapshotRecord> rec = DecodeRecord(k.substr(1), v);
        if (!rec.ok()) {
          corrupt = true;  // reported by fsck; one bad record must not stop start-up
          return true;
        }
        referenced.insert(rec->id());
        if (rec->id() > max_id) max_id = rec->id();
        if (!PathExists(layout_.FilesDir(rec->id()))) recovery_.records_missing_dir.emplace_back(k);
        return true;
      });
  STRATA_RETURN_IF_ERROR(status);
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
    STRATA_RETURN_IF_ERROR(RemoveTree(absl::StrCat(layout_.SnapshotsDir(), "/", name)));
    ++recovery_.orphan_dirs_removed;
  }
  if (recovery_.orphan_dirs_removed > 0) {
    log::Info("removed orphan snapshot dirs",
              {{"count", std::to_string(recovery_.orphan_dirs_removed)}});
  }
  return max_id;
}

}  // namespace strata::snapshotter
