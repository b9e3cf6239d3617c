// The layer half of MetaStore: layer records keyed by chainID, shared by
// snapshots in both key spaces, reference-counted.
#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "snapshotter/meta_store.h"
#include "snapshotter/records.h"
#include "snapshotter/validation.h"

namespace strata::snapshotter {
namespace {

using meta::Family;
using meta::v1::LayerRecord;

// The label containerd's unpacker puts on an extraction snapshot, naming the
// chainID it will become; snapshots of layers carry it too, so containerd's
// lookup (labels."containerd.io/snapshot.ref"==<chainID>) finds them.
constexpr char kSnapshotRefLabel[] = "containerd.io/snapshot.ref";

SnapshotRecord LayerSnapshot(const LayerRecord& layer, const std::string& chain_id,
                             const DiskUsage& usage) {
  SnapshotRecord rec;
  int64_t now = NowNanos();
  rec.set_id(layer.dir_id());
  rec.set_kind(meta::v1::SNAPSHOT_KIND_COMMITTED);
  rec.set_parent(layer.parent_chain_id());
  (*rec.mutable_labels())[kSnapshotRefLabel] = chain_id;
  rec.set_created_unix_nanos(now);
  rec.set_updated_unix_nanos(now);
  rec.set_size_bytes(usage.bytes);
  rec.set_inodes(usage.inodes);
  rec.set_layer_chain_id(chain_id);
  return rec;
}

LayerInfo ToLayerInfo(const std::string& chain_id, const LayerRecord& r) {
  LayerInfo info;
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

absl::Status MetaStore::StageNewLayer(meta::WriteTxn& txn, KeySpace space, const LayerInfo& layer,
                                      uint64_t dir_id, int64_t unpacked_bytes,
                                      const DiskUsage& usage) const {
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
          LayerSnapshot(r, layer.chain_id, usage).SerializeAsString());
  return absl::OkStatus();
}

absl::StatusOr<LayerInfo> MetaStore::GetLayer(const std::string& chain_id) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<std::string> raw, db_->Get(Family::kLayers, chain_id));
  if (!raw) return absl::NotFoundError(absl::StrCat("layer ", chain_id, " is not unpacked"));
  STRATA_ASSIGN_OR_RETURN(LayerRecord r, DecodeLayer(chain_id, *raw));
  return ToLayerInfo(chain_id, r);
}

absl::Status MetaStore::WalkLayers(const std::function<void(const LayerInfo&)>& fn) const {
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

absl::Status MetaStore::RecordLayer(KeySpace space, const LayerInfo& layer, uint64_t dir_id,
                                    const DiskUsage& usage, const std::string& lease) {
  STRATA_RETURN_IF_ERROR(ValidateKey(layer.chain_id, "chain id"));
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> existing, TxnLayer(txn, layer.chain_id));
  if (existing) {
    return absl::AlreadyExistsError(absl::StrCat("layer ", layer.chain_id, " is already unpacked"));
  }
  STRATA_RETURN_IF_ERROR(StageNewLayer(txn, space, layer, dir_id, layer.unpacked_bytes, usage));
  STRATA_RETURN_IF_ERROR(
      StageSnapshotLease(txn, space, layer.chain_id, lease, meta::LeaseHold::kCreated));
  return txn.Commit();
}

absl::StatusOr<bool> MetaStore::StageAdoption(meta::WriteTxn& txn, KeySpace space,
                                              const std::string& chain_id) const {
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
    STRATA_ASSIGN_OR_RETURN(DiskUsage usage, usage_of_(layer.dir_id()));
    txn.Put(Family::kSnapshots, RecordKey(space, c),
            LayerSnapshot(layer, c, usage).SerializeAsString());
    if (!layer.parent_chain_id().empty()) {
      txn.Put(Family::kChildren, ChildKey(space, layer.parent_chain_id(), c), "");
    }
    layer.set_refs(layer.refs() + 1);
    txn.Put(Family::kLayers, c, layer.SerializeAsString());
  }
  return !missing.empty();
}

absl::StatusOr<bool> MetaStore::CommitActiveAsLayer(KeySpace space, const std::string& key,
                                                    const LayerInfo& layer, uint64_t dir_id,
                                                    const DiskUsage& usage,
                                                    const std::string& lease) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(std::optional<SnapshotRecord> current, TxnRecord(txn, space, key));
  if (!current || current->id() != dir_id || current->kind() != meta::v1::SNAPSHOT_KIND_ACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat("commit \"", key, "\": snapshot changed during commit"));
  }
  txn.Delete(Family::kSnapshots, RecordKey(space, key));
  if (!current->parent().empty()) {
    txn.Delete(Family::kChildren, ChildKey(space, current->parent(), key));
  }
  bool frees_dir = false;
  STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> existing, TxnLayer(txn, layer.chain_id));
  if (existing) {
    // The same change was committed before: keep that layer, drop this copy.
    STRATA_RETURN_IF_ERROR(StageAdoption(txn, space, layer.chain_id).status());
    frees_dir = true;
  } else {
    STRATA_RETURN_IF_ERROR(StageNewLayer(txn, space, layer, dir_id, usage.bytes, usage));
  }
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(txn, space, layer.chain_id, lease));
  STRATA_RETURN_IF_ERROR(txn.Commit());
  return frees_dir;
}

absl::Status MetaStore::AdoptLayerChain(KeySpace space, const std::string& chain_id,
                                        const std::string& lease) {
  meta::WriteTxn txn(db_);
  STRATA_ASSIGN_OR_RETURN(bool adopted, StageAdoption(txn, space, chain_id));
  STRATA_RETURN_IF_ERROR(StageSnapshotLease(
      txn, space, chain_id, lease, adopted ? meta::LeaseHold::kCreated : meta::LeaseHold::kRelied));
  return txn.Commit();
}

bool MetaStore::IsKnownLayerOn(KeySpace space, const Labels& labels,
                               const std::string& parent) const {
  auto it = labels.find(kSnapshotRefLabel);
  if (it == labels.end()) return false;
  absl::StatusOr<LayerInfo> layer = GetLayer(it->second);
  if (!layer.ok()) return false;
  if (parent.empty()) return layer->parent_chain_id.empty();
  // The parent must be that very chain: a snapshot of this store's layer
  // whose chainID is the layer's parent chain.
  absl::StatusOr<SnapshotRecord> p = Get(space, parent);
  return p.ok() && !p->layer_chain_id().empty() && p->layer_chain_id() == layer->parent_chain_id;
}

absl::StatusOr<bool> MetaStore::StageLayerRelease(meta::WriteTxn& txn,
                                                  const std::string& chain_id) const {
  STRATA_ASSIGN_OR_RETURN(std::optional<LayerRecord> layer, TxnLayer(txn, chain_id));
  if (!layer) return false;  // already gone; nothing to release
  if (layer->refs() <= 1) {
    txn.Delete(Family::kLayers, chain_id);
    return true;
  }
  layer->set_refs(layer->refs() - 1);
  txn.Put(Family::kLayers, chain_id, layer->SerializeAsString());
  return false;
}

}  // namespace strata::snapshotter
