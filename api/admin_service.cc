#include "api/admin_service.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include "api/convert.h"
#include "api/grpc_status.h"
#include "layerstore/disk_usage.h"
#include "layerstore/fsck.h"
#include "layerstore/store_census.h"
#include "strata/version.h"

namespace strata::api {

grpc::Status AdminService::Info(grpc::ServerContext*, const strata::v1::InfoRequest*,
                                strata::v1::InfoResponse* resp) {
  const snapshotter::Snapshotter& snapshots = *store_->snapshots;
  resp->set_version(STRATA_VERSION);
  resp->set_root(snapshots.layout().root());
  resp->set_sized_backends(snapshots.sized_backend());
  resp->set_sized_unavailable(snapshots.sized_unavailable());
  resp->set_socket(facts_.socket);
  resp->set_config_file(facts_.config_file);
  resp->set_metrics_listen(facts_.metrics_listen);
  resp->set_registry_listen(facts_.registry_listen);
  resp->set_pid(::getpid());
  ToProto(facts_.started, resp->mutable_started_at());
  absl::StatusOr<layerstore::StoreCensus> c = layerstore::TakeCensus(*store_);
  if (!c.ok()) return ToGrpc(c.status());
  strata::v1::StoreCounts* out = resp->mutable_counts();
  out->set_images(c->images);
  out->set_blobs(c->blobs);
  out->set_blob_bytes(c->blob_bytes);
  out->set_layers(c->layers);
  out->set_layer_bytes(c->layer_bytes);
  out->set_committed_snapshots(c->committed_snapshots);
  out->set_active_snapshots(c->active_snapshots);
  out->set_view_snapshots(c->view_snapshots);
  out->set_leases(c->leases);
  out->set_ingests(c->ingests);
  out->set_metadata_bytes(c->metadata_bytes);
  struct statvfs fs;
  if (::statvfs(snapshots.layout().root().c_str(), &fs) == 0) {
    resp->set_filesystem_bytes(static_cast<int64_t>(fs.f_blocks) * fs.f_frsize);
    resp->set_filesystem_free_bytes(static_cast<int64_t>(fs.f_bavail) * fs.f_frsize);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::DiskUsage(grpc::ServerContext*, const strata::v1::DiskUsageRequest*,
                                     strata::v1::DiskUsageResponse* resp) {
  absl::StatusOr<layerstore::StoreDiskUsage> u = layerstore::MeasureStore(
      store_->snapshots->layout().root(), *store_->content, *store_->images, *store_->snapshots);
  if (!u.ok()) return ToGrpc(u.status());
  for (const layerstore::ImageDiskUsage& i : u->images) {
    strata::v1::ImageDiskUsage* out = resp->add_images();
    out->set_name(i.name);
    out->set_unique_bytes(i.unique_bytes);
    out->set_shared_bytes(i.shared_bytes);
  }
  resp->set_unshared_bytes(u->unshared_bytes);
  resp->set_image_bytes(u->image_bytes);
  resp->set_writable_bytes(u->writable_bytes);
  resp->set_writable_layers(u->writable_layers);
  resp->set_unreferenced_bytes(u->unreferenced_bytes);
  resp->set_metadata_bytes(u->metadata_bytes);
  resp->set_other_bytes(u->other_bytes);
  resp->set_total_bytes(u->total_bytes);
  return grpc::Status::OK;
}

grpc::Status AdminService::Check(grpc::ServerContext*, const strata::v1::CheckRequest* req,
                                 strata::v1::CheckResponse* resp) {
  absl::StatusOr<layerstore::FsckReport> r = layerstore::CheckStore(
      store_->content.get(), *store_->images, store_->snapshots.get(), req->repair());
  if (!r.ok()) return ToGrpc(r.status());
  resp->set_blobs(r->blobs);
  resp->set_snapshots(r->snapshots);
  resp->set_layers(r->layers);
  resp->set_layer_files(r->layer_files);
  for (const auto& p : r->problems) {
    strata::v1::CheckProblem* out = resp->add_problems();
    out->set_what(p.what);
    out->set_repaired(p.repaired);
    out->set_note(p.note);
  }
  return grpc::Status::OK;
}

}  // namespace strata::api

namespace strata::api {

namespace {

// Each item of a collection to the call's stream (a client that went away
// stops hearing; the collection goes on).
std::function<void(const layerstore::GcItem&)> ItemWriter(
    grpc::ServerWriter<strata::v1::GarbageCollectEvent>* w) {
  return [w](const layerstore::GcItem& item) {
    strata::v1::GarbageCollectEvent ev;
    ev.mutable_item()->set_kind(layerstore::GcKindName(item.kind));
    ev.mutable_item()->set_name(item.name);
    ev.mutable_item()->set_bytes(item.bytes);
    w->Write(ev);
  };
}

strata::v1::GarbageCollectEvent SummaryEvent(const layerstore::GcReport& r, bool dry_run,
                                             int64_t images_total) {
  strata::v1::GarbageCollectEvent ev;
  strata::v1::GcSummary* s = ev.mutable_summary();
  s->set_items(static_cast<int64_t>(r.removed.size()));
  s->set_bytes(r.bytes);
  s->set_blobs_kept(r.blobs_kept);
  s->set_snapshots_kept(r.snapshots_kept);
  s->set_dry_run(dry_run);
  s->set_writers_paused_seconds(absl::ToDoubleSeconds(r.writers_paused));
  s->set_elapsed_seconds(absl::ToDoubleSeconds(r.elapsed));
  s->set_images_total(images_total);
  return ev;
}

}  // namespace

grpc::Status AdminService::GarbageCollect(grpc::ServerContext*,
                                          const strata::v1::GarbageCollectRequest* req,
                                          grpc::ServerWriter<strata::v1::GarbageCollectEvent>* w) {
  if (req->ingest_max_age_seconds() < 0) {
    return ToGrpc(absl::InvalidArgumentError("ingest_max_age_seconds must not be negative"));
  }
  layerstore::GcOptions options;
  options.dry_run = req->dry_run();
  options.ingest_max_age = req->ingest_max_age_seconds() > 0
                               ? absl::Seconds(req->ingest_max_age_seconds())
                               : facts_.ingest_max_age();
  absl::StatusOr<layerstore::GcReport> r = store_->gc->Collect(options, ItemWriter(w));
  if (!r.ok()) return ToGrpc(r.status());
  w->Write(SummaryEvent(*r, req->dry_run(), 0));
  return grpc::Status::OK;
}

grpc::Status AdminService::Prune(grpc::ServerContext*, const strata::v1::PruneRequest* req,
                                 grpc::ServerWriter<strata::v1::GarbageCollectEvent>* w) {
  layerstore::PruneOptions options;
  options.all = req->all();
  options.dry_run = req->dry_run();
  options.ingest_max_age = facts_.ingest_max_age();
  absl::StatusOr<layerstore::PruneReport> r = store_->pruner->Prune(
      options,
      [w](const std::string& image) {
        strata::v1::GarbageCollectEvent ev;
        ev.set_image(image);
        w->Write(ev);
      },
      ItemWriter(w));
  if (!r.ok()) return ToGrpc(r.status());
  w->Write(SummaryEvent(r->gc, req->dry_run(), r->images_total));
  return grpc::Status::OK;
}

}  // namespace strata::api
