// The layer half of Snapshotter: unpacked layer directories keyed by chainID,
// shared by snapshots in both key spaces, reference-counted.
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "snapshotter/records.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/validation.h"

namespace strata::snapshotter {
namespace {

using meta::Family;
using meta::v1::LayerRecord;

// The label containerd's unpacker puts on an extraction snapshot, naming the
// chainID it will become; snapshots of layers carry it too, so containerd's
// lookup (labels."containerd.io/snapshot.ref"==<chainID>) finds them.
constexpr char kSnapshotRefLabel[] = "containerd.io/snapshot.ref";

SnapshotRecord LayerSnapshot(const LayerRecord& layer, const std::string& chain_id, int64_t size,
                             int64_t inodes) {
  SnapshotRecord rec;
  int64_t now = NowNanos();
  rec.set_id(layer.dir_id());
  rec.set_kind(meta::v1::SNAPSHOT_KIND_COMMITTED);
  rec.set_parent(layer.parent_chain_id());
  (*rec.mutable_labels())[kSnapshotRefLabel] = chain_id;
  rec.set_created_unix_nanos(now);
  rec.set_updated_unix_nanos(now);
  rec.set_size_bytes(size);
  rec.set_inodes(inodes);
  rec.set_layer_chain_id(chain_id);
  return rec;
}

Snapshotter::LayerInfo ToLayerInfo(const std::string& chain_id, const LayerRecord& r) {
  Snapshotter::LayerInfo info;
  info.chain_id = chain_id;
  info.parent_chain_id = r.parent_chain_id();
  info.diff_id = r.diff_id();
  info.blob_digest = r.blob_digest();
  info.blob_media_type = r.blob_media_type();
  info.blob_size = r.blob_size();
  info.unpacked_bytes = r.unpacked_bytes();
  info.entries = r.entries();
  info.dir_id = r.dir_id();
  info.refs = r.refs();
  info.created = absl::FromUnixNanos(r.created_unix_nanos());
  return info;
}

}  // namespace

absl::StatusOr<uint64_t> Snapshotter::NewLayerDirectory() { return pool_->Acquire(); }

void Snapshotter::DiscardLayerDirectory(uint64_t id) { pool_->Discard(id); }

absl::Status Snapshotter::StageNewLayer(meta::WriteTxn& txn, KeySpace space, const LayerInfo& layer,
                                        uint64_t dir_id, int64_t unpacked_bytes, int64_t size,
                                        int64_t inodes) {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> taken,
                          txn.Get(Family::kSnapshots, RecordKey(space, layer.chain_id)));
  if (taken) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot \"", layer.chain_id, "\" exists and is not an image layer"));
  }
  if (!layer.parent_chain_id.empty()) {
    // The parent layer's snapshot must be in this key space (it is adopted if not).
    STRATA_RETURN_IF_ERROR(StageAdoption(txn, space, layer.parent_chain_id).status());
    txn.Put(Family::kChildren, ChildKey(space, layer.parent_chain_id, layer.chain_id), "");
  }
  LayerRecord r;
  r.set_dir_id(dir_id);
  r.set_diff_id(layer.diff_id);
  r.set_parent_chain_id(layer.parent_chain_id);
  r.set_blob_digest(layer.blob_digest);
  r.set_blob_media_type(layer.blob_media_type);
  r.set_blob_size(layer.blob_size);
  r.set_unpacked_bytes(unpacked_bytes);
  r.set_entries(layer.entries);
  r.set_created_unix_nanos(NowNanos());
  r.set_refs(1);
  txn.Put(Family::kLayers, layer.chain_id, r.SerializeAsString());
  txn.Put(Family::kSnapshots, RecordKey(space, layer.chain_id),
          LayerSnapshot(r, layer.chain_id, size, inodes).SerializeAsString());
  return absl::OkStatus();
}

absl::StatusOr<Snapshotter::LayerInfo> Snapshotter::GetLayer(const std::string& chain_id) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, db_->Get(Family::kLayers, chain_id));
  if (!raw) return absl::NotFoundError(absl::StrCat("layer ", chain_id, " is not unpacked"));
  STRATA_ASSIGN_OR_RETURN(LayerRecord r, DecodeLayer(chain_id, *raw));
  return ToLayerInfo(chain_id, r);
}

absl::Status Snapshotter::WalkLayers(const std::function<void(const LayerInfo&)>& fn) const {
  absl::Status inner;
  STRATA_RETURN_IF_ERROR(
      db_->Scan(Family::kLayers, "", [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<LayerRecord> r = DecodeLayer(k, v);
        if (!r.ok()) {
          inner = r.status();
          return false;
        }
        fn(ToLayerInfo(std::string(k), *r));
        return true;
      }));
  return inner;
}

absl::Status Snapshotter::RecordUnpackedLayer(KeySpace space, const LayerInfo& layer,
                                              uint64_t dir_id, const std::string& lease) {
  STRATA_RETURN_IF_ERROR(ValidateKey(layer.chain_id, "chain id"));
  // A layer directory needs no overlay workdir; its usage is fixed from now on.
  (void)RemoveTree(layout_.WorkDir(dir_id));
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(dir_id)));

  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> existing, TxnLayer(txn, layer.chain_id));
  if (existing) {
    return absl::AlreadyExistsError(absl::StrCat("layer ", layer.chain_id, " is already unpacked"));
  }
  STRATA_RETURN_IF_ERROR(
      StageNewLayer(txn, space, layer, dir_id, layer.unpacked_bytes, usage.bytes, usage.inodes));
  STRATA_RETURN_IF_ERROR(
      StageSnapshotLease(txn, space, layer.chain_id, lease, meta::LeaseHold::kCreated));
  STRATA_RETURN_IF_ERROR(txn.Commit());
  pool_->Recorded(dir_id);
  return absl::OkStatus();
}

absl::StatusOr<bool> Snapshotter::StageAdoption(meta::WriteTxn& txn, KeySpace space,
                                                const std::string& chain_id) {
  // Records staged in this transaction are not visible to txn.Get, so the
  // walk stops at the first layer `space` already has and stages the rest.
  std::vector<std::pair<std::string, LayerRecord>> missing;
  for (std::string c = chain_id; !c.empty();) {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string> present,
                            txn.Get(Family::kSnapshots, RecordKey(space, c)));
    if (present) {
      SnapshotRecord rec;
      if (!rec.ParseFromString(*present) || rec.layer_chain_id() != c) {
        return absl::FailedPreconditionError(
            absl::StrCat("snapshot \"", c, "\" exists and is not an unpacked layer"));
      }
      break;
    }
    STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, TxnLayer(txn, c));
    if (!layer) return absl::NotFoundError(absl::StrCat("layer ", c, " is not unpacked"));
    missing.emplace_back(c, *layer);
    c = layer->parent_chain_id();
  }
  for (auto& [c, layer] : missing) {
    STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(layer.dir_id())));
    txn.Put(Family::kSnapshots, RecordKey(space, c),
            LayerSnapshot(layer, c, usage.bytes, usage.inodes).SerializeAsString());
    if (!layer.parent_chain_id().empty()) {
      txn.Put(Family::kChildren, ChildKey(space, layer.parent_chain_id(), c), "");
    }
    layer.set_refs(layer.refs() + 1);
    txn.Put(Family::kLayers, c, layer.SerializeAsString());
  }
  return !missing.empty();
}

absl::StatusOr<Snapshotter::ActiveLayerBase> Snapshotter::ActiveForLayerCommit(
    KeySpace space, const std::string& key) {
  STRATA_RETURN_IF_ERROR(ValidateKey(key, "key"));
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, GetRecord(space, key));
  if (rec.kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) {
    return absl::FailedPreconditionError(absl::StrCat("commit \"", key, "\": snapshot is ",
                                                      KindName(KindFromRecord(rec.kind())),
                                                      ", not active"));
  }
  ActiveLayerBase base;
  base.upper_dir = layout_.FilesDir(rec.id());
  if (!rec.parent().empty()) {
    STRATA_ASSIGN_OR_RETURN(SnapshotRecord parent, GetRecord(space, rec.parent()));
    if (parent.layer_chain_id().empty()) {
      return absl::FailedPreconditionError(absl::StrCat("commit \"", key, "\": parent \"",
                                                        rec.parent(), "\" is not an image layer"));
    }
    base.parent_chain_id = parent.layer_chain_id();
  }
  return base;
}

absl::Status Snapshotter::CommitActiveAsLayer(KeySpace space, const std::string& key,
                                              const LayerInfo& layer, const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord active, GetRecord(space, key));
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(active.id())));
  bool reap = false;
  {
    meta::WriteTxn txn(db_);
    STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> current, TxnRecord(txn, space, key));
    if (!current || current->id() != active.id() ||
        current->kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat("commit \"", key, "\": snapshot changed during commit"));
    }
    txn.Delete(Family::kSnapshots, RecordKey(space, key));
    if (!current->parent().empty()) {
      txn.Delete(Family::kChildren, ChildKey(space, current->parent(), key));
    }
    STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> existing, TxnLayer(txn, layer.chain_id));
    if (existing) {
      // The same change was committed before: keep that layer, drop this copy.
      STRATA_RETURN_IF_ERROR(StageAdoption(txn, space, layer.chain_id).status());
      reap = true;
    } else {
      STRATA_RETURN_IF_ERROR(
          StageNewLayer(txn, space, layer, active.id(), usage.bytes, usage.bytes, usage.inodes));
    }
    STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, layer.chain_id, lease));
    STRATA_RETURN_IF_ERROR(txn.Commit());
  }
  if (reap) pool_->Reap(active.id());
  return absl::OkStatus();
}

absl::Status Snapshotter::AdoptLayerChain(KeySpace space, const std::string& chain_id,
                                          const std::string& lease) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(bool adopted, StageAdoption(txn, space, chain_id));
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(
      txn, space, chain_id, lease, adopted ? meta::LeaseHold::kCreated : meta::LeaseHold::kRelied));
  return txn.Commit();
}

bool Snapshotter::IsKnownLayerOn(KeySpace space, const Labels& labels, const std::string& parent) {
  auto it = labels.find(kSnapshotRefLabel);
  if (it == labels.end()) return false;
  absl::StatusOr<LayerInfo> layer = GetLayer(it->second);
  if (!layer.ok()) return false;
  if (parent.empty()) return layer->parent_chain_id.empty();
  // The parent must be that very chain: a snapshot of this store's layer
  // whose chainID is the layer's parent chain.
  absl::StatusOr<SnapshotRecord> p = GetRecord(space, parent);
  return p.ok() && !p->layer_chain_id().empty() && p->layer_chain_id() == layer->parent_chain_id;
}

absl::Status Snapshotter::StageLayerRelease(meta::WriteTxn& txn, const std::string& chain_id,
                                            bool* reap) {
  STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, TxnLayer(txn, chain_id));
  *reap = false;
  if (!layer) return absl::OkStatus();  // already gone; nothing to release
  if (layer->refs() <= 1) {
    txn.Delete(Family::kLayers, chain_id);
    *reap = true;
    return absl::OkStatus();
  }
  layer->set_refs(layer->refs() - 1);
  txn.Put(Family::kLayers, chain_id, layer->SerializeAsString());
  return absl::OkStatus();
}

}  // namespace strata::snapshotter
