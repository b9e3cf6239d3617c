#include "snapshotter/meta_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "snapshotter/filter.h"
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

absl::Status NotActive(absl::string_view verb, absl::string_view key, const SnapshotRecord& rec) {
  return absl::FailedPreconditionError(absl::StrCat(
      verb, " \"", key, "\": snapshot is ", KindName(KindFromRecord(rec.kind())), ", not active"));
}

}  // namespace

MetaStore::MetaStore(meta::Db* db, UsageOf usage_of) : db_(db), usage_of_(std::move(usage_of)) {}

absl::Status MetaStore::ValidateCreate(const std::string& key, const std::string& parent,
                                       const Labels& labels) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  if (!parent.empty()) STRATA_RETURN_IF_ERROR(ValidateKey(parent, "parent"));
  return ValidateLabels(labels);
}

absl::Status MetaStore::ValidateCommit(const std::string& name, const std::string& key,
                                       const Labels& labels) {
  STRATA_RETURN_IF_ERROR(ValidateKey(name, "name"));
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  return ValidateLabels(labels);
}

absl::StatusOr<SnapshotRecord> MetaStore::Get(KeySpace space, const std::string& key) const {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                          db_->Get(Family::kSnapshots, RecordKey(space, key)));
  if (!raw) return NotFound(key);
  return DecodeRecord(key, *raw);
}

absl::StatusOr<SnapshotRecord> MetaStore::GetActive(KeySpace space, const std::string& key,
                                                    absl::string_view verb) const {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, Get(space, key));
  if (rec.kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) return NotActive(verb, key, rec);
  return rec;
}

absl::StatusOr<uint64_t> MetaStore::ParentDirId(KeySpace space, const std::string& parent) const {
  absl::StatusOr<SnapshotRecord> p = Get(space, parent);
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

absl::StatusOr<std::vector<uint64_t>> MetaStore::ParentDirIds(KeySpace space,
                                                              const SnapshotRecord& rec) const {
  std::vector<uint64_t> ids;
  for (std::string parent = rec.parent(); !parent.empty();) {
    absl::StatusOr<SnapshotRecord> p = Get(space, parent);
    if (!p.ok()) return Annotate(p.status(), "resolve parent chain");
    ids.push_back(p->id());
    parent = p->parent();
  }
  return ids;
}

absl::StatusOr<bool> MetaStore::HasChildren(KeySpace space, const std::string& key) const {
  bool found = false;
  STRATA_RETURN_IF_ERROR(db_->Scan(Family::kChildren, ChildPrefix(space, key),
                                   [&](absl::string_view, absl::string_view) {
                                     found = true;
                                     return false;
                                   }));
  return found;
}

absl::Status MetaStore::Walk(KeySpace space, const std::vector<std::string>& filters,
                             const std::function<bool(const Info&)>& fn) const {
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

absl::Status MetaStore::ForEachRecord(const std::function<void(const SnapshotRecord&)>& fn) const {
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

absl::Status MetaStore::ScanRecords(
    const std::function<void(KeySpace, const std::string& key,
                             const absl::StatusOr<SnapshotRecord>&)>& fn) const {
  return db_->Scan(Family::kSnapshots, "", [&](absl::string_view k, absl::string_view v) {
    std::string key(k.substr(1));
    fn(static_cast<KeySpace>(k[0]), key, DecodeRecord(key, v));
    return true;
  });
}

absl::StatusOr<std::set<uint64_t>> MetaStore::ReferencedIds() const {
  std::set<uint64_t> ids;
  STRATA_RETURN_IF_ERROR(ForEachRecord([&](const SnapshotRecord& rec) { ids.insert(rec.id()); }));
  return ids;
}

absl::StatusOr<uint64_t> MetaStore::HighestIdRecorded() const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> counter,
                          db_->Get(Family::kIds, kSnapshotIdCounter));
  return counter ? meta::DecodeFixed64(*counter) : 0;
}

absl::StatusOr<SnapshotRecord> MetaStore::Create(KeySpace space, Kind kind, const std::string& key,
                                                 const std::string& parent, const Labels& labels,
                                                 const std::string& lease, uint64_t dir_id,
                                                 const meta::v1::SizedLayer* sized) {
  STRATA_RETURN_IF_ERROR(ValidateCreate(key, parent, labels));
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> existing, TxnRecord(txn, space, key));
  if (existing)
    return absl::AlreadyExistsError(absl::StrCat("snapshot \"", key, "\" already exists"));
  if (!parent.empty()) {
    STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> p, TxnRecord(txn, space, parent));
    if (!p) {
      // An unpacked layer not yet in this key space is adopted in this
      // same transaction, so nothing (not even GC) can remove it between.
      absl::Status adopted = StageAdoption(txn, space, parent).status();
      if (absl::IsNotFound(adopted)) {
        return absl::NotFoundError(absl::StrCat("parent snapshot \"", parent, "\" does not exist"));
      }
      STRATA_RETURN_IF_ERROR(adopted);
    } else if (p->kind() != meta::v1::SNAPSHOT_KIND_COMMITTED) {
      return absl::FailedPreconditionError(absl::StrCat("parent snapshot \"", parent, "\" is ",
                                                        KindName(KindFromRecord(p->kind())),
                                                        ", not committed"));
    }
    txn.Put(Family::kChildren, ChildKey(space, parent, key), "");
  }
  SnapshotRecord rec;
  int64_t now = NowNanos();
  rec.set_id(dir_id);
  rec.set_kind(KindToRecord(kind));
  rec.set_parent(parent);
  rec.mutable_labels()->insert(labels.begin(), labels.end());
  rec.set_created_unix_nanos(now);
  rec.set_updated_unix_nanos(now);
  if (sized != nullptr) *rec.mutable_sized() = *sized;
  txn.Put(Family::kSnapshots, RecordKey(space, key), Encode(rec));
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, key, lease, meta::LeaseHold::kCreated));
  STRATA_RETURN_IF_ERROR(BumpIdCounter(txn, dir_id));
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return rec;
}

absl::Status MetaStore::Commit(KeySpace space, const std::string& name, const std::string& key,
                               const Labels& labels, const std::string& lease, uint64_t dir_id,
                               const DiskUsage& usage) {
  STRATA_RETURN_IF_ERROR(ValidateCommit(name, key, labels));
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> current, TxnRecord(txn, space, key));
  if (!current) return NotFound(key);
  if (current->kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) return NotActive("commit", key, *current);
  if (current->id() != dir_id) {
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
  if (current->has_sized()) *committed.mutable_sized() = current->sized();
  txn.Delete(Family::kSnapshots, RecordKey(space, key));
  txn.Put(Family::kSnapshots, RecordKey(space, name), Encode(committed));
  if (!current->parent().empty()) {
    txn.Delete(Family::kChildren, ChildKey(space, current->parent(), key));
    txn.Put(Family::kChildren, ChildKey(space, current->parent(), name), "");
  }
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, name, lease));
  return txn.Commit();
}

absl::StatusOr<MetaStore::Removal> MetaStore::Remove(KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
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
  Removal removal;
  removal.dir_id = rec->id();
  removal.frees_dir = true;  // a layer's directory goes only with its last reference
  if (!rec->layer_chain_id().empty()) {
    STRATA_ASSIGN_OR_RETURN(removal.frees_dir, StageLayerRelease(txn, rec->layer_chain_id()));
  }
  // Not waited for: a removal lost to a power failure only brings back the
  // snapshot (containerd's collector removes its own again; a native one is
  // removed again by hand or by gc). The next synced write, or the reaper
  // within milliseconds, makes it durable.
  STRATA_ASSIGN_OR_RETURN(removal.ticket, txn.CommitLater());
  return removal;
}

absl::StatusOr<Info> MetaStore::Update(KeySpace space, const Info& info,
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

}  // namespace strata::snapshotter
