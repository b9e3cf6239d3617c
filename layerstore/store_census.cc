#include "layerstore/store_census.h"

#include "common/fs.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

void CountSnapshot(snapshotter::Kind kind, StoreCensus* c) {
  switch (kind) {
    case snapshotter::Kind::kCommitted:
      ++c->committed_snapshots;
      break;
    case snapshotter::Kind::kActive:
      ++c->active_snapshots;
      break;
    case snapshotter::Kind::kView:
      ++c->view_snapshots;
      break;
    case snapshotter::Kind::kUnknown:
      break;
  }
}

}  // namespace

absl::StatusOr<StoreCensus> TakeCensus(Store& store) {
  StoreCensus c;
  STRATA_RETURN_IF_ERROR(store.images->List([&c](const ImageInfo&) {
    ++c.images;
    return true;
  }));
  STRATA_RETURN_IF_ERROR(store.content->Walk([&c](const BlobInfo& b) {
    ++c.blobs;
    c.blob_bytes += b.size;
    return true;
  }));
  STRATA_RETURN_IF_ERROR(store.snapshots->WalkLayers([&c](const snapshotter::LayerInfo& l) {
    ++c.layers;
    c.layer_bytes += l.unpacked_bytes;
  }));
  for (snapshotter::KeySpace space :
       {snapshotter::KeySpace::kNative, snapshotter::KeySpace::kContainerd}) {
    STRATA_RETURN_IF_ERROR(store.snapshots->Walk(space, {}, [&c](const snapshotter::Info& info) {
      CountSnapshot(info.kind, &c);
      return true;
    }));
  }
  STRATA_RETURN_IF_ERROR(store.leases->List([&c](const meta::LeaseInfo&) { ++c.leases; }));
  STRATA_RETURN_IF_ERROR(store.content->ListIngests([&c](const IngestStatus&) { ++c.ingests; }));
  // RocksDB keeps its files in one flat directory: a few dozen stats.
  absl::StatusOr<DiskUsage> meta = MeasureDiskUsage(store.snapshots->layout().root() + "/meta");
  if (meta.ok()) c.metadata_bytes = meta->bytes;
  return c;
}

}  // namespace strata::layerstore
