// The layer half of Snapshotter: directories of unpacked layers, around the
// metadata rules in MetaStore (meta_store_layers.cc).
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "snapshotter/snapshotter.h"

namespace strata::snapshotter {

absl::StatusOr<uint64_t> Snapshotter::NewLayerDirectory() { return pool_->Acquire(); }

void Snapshotter::DiscardLayerDirectory(uint64_t id) { pool_->Discard(id); }

absl::StatusOr<LayerInfo> Snapshotter::GetLayer(const std::string& chain_id) const {
  return meta_.GetLayer(chain_id);
}

absl::Status Snapshotter::WalkLayers(const std::function<void(const LayerInfo&)>& fn) const {
  return meta_.WalkLayers(fn);
}

absl::Status Snapshotter::RecordUnpackedLayer(KeySpace space, const LayerInfo& layer,
                                              uint64_t dir_id, const std::string& lease) {
  // A layer directory needs no overlay workdir; its usage is fixed from now on.
  (void)RemoveTree(layout_.WorkDir(dir_id));
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(dir_id)));
  STRATA_RETURN_IF_ERROR(meta_.RecordLayer(space, layer, dir_id, usage, lease));
  pool_->Recorded(dir_id);
  return absl::OkStatus();
}

absl::StatusOr<Snapshotter::ActiveLayerBase> Snapshotter::ActiveForLayerCommit(
    KeySpace space, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord rec, meta_.GetActive(space, key, "commit"));
  // A layer is immutable: an overlay still writing into this upper directory
  // would change it after its digest was taken.
  STRATA_RETURN_IF_ERROR(RefuseIfMounted(space, rec, key, "commit"));
  ActiveLayerBase base;
  base.upper_dir = layout_.FilesDir(rec.id());
  if (!rec.parent().empty()) {
    STRATA_ASSIGN_OR_RETURN(SnapshotRecord parent, meta_.Get(space, rec.parent()));
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
  STRATA_ASSIGN_OR_RETURN(SnapshotRecord active, meta_.Get(space, key));
  STRATA_ASSIGN_OR_RETURN(DiskUsage usage, MeasureDiskUsage(layout_.FilesDir(active.id())));
  STRATA_ASSIGN_OR_RETURN(bool frees_dir,
                          meta_.CommitActiveAsLayer(space, key, layer, active.id(), usage, lease));
  if (frees_dir) pool_->Reap(active.id());
  return absl::OkStatus();
}

absl::Status Snapshotter::AdoptLayerChain(KeySpace space, const std::string& chain_id,
                                          const std::string& lease) {
  return meta_.AdoptLayerChain(space, chain_id, lease);
}

}  // namespace strata::snapshotter
