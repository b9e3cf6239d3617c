#include "layerstore/pruner.h"

#include <set>

#include "common/status_util.h"

namespace strata::layerstore {

absl::StatusOr<std::vector<std::string>> Pruner::Pick(const std::vector<ImageInfo>& all,
                                                      const PruneOptions& options) const {
  // What containers stand on: the parents of writable snapshots and views.
  std::set<std::string> used;
  for (snapshotter::KeySpace space :
       {snapshotter::KeySpace::kNative, snapshotter::KeySpace::kContainerd}) {
    STRATA_RETURN_IF_ERROR(snapshots_->Walk(space, {}, [&](const snapshotter::Info& info) {
      if (info.kind != snapshotter::Kind::kCommitted) used.insert(info.parent);
      return true;
    }));
  }
  std::vector<std::string> picked;
  for (const ImageInfo& info : all) {
    if (!options.all && info.name.find('@') == std::string::npos) continue;
    absl::StatusOr<ResolvedImage> img = images_->Resolve(info);
    // An image that cannot be read is left to fsck, not pruned blind.
    if (!img.ok()) continue;
    if (used.count(img->top_chain().str()) > 0) continue;
    picked.push_back(info.name);
  }
  return picked;
}

absl::StatusOr<PruneReport> Pruner::Prune(const PruneOptions& options,
                                          const std::function<void(const std::string&)>& on_image,
                                          const std::function<void(const GcItem&)>& on_item) {
  PruneReport report;
  if (options.dry_run) {
    std::vector<ImageInfo> all;
    STRATA_RETURN_IF_ERROR(images_->List([&](const ImageInfo& info) {
      all.push_back(info);
      return true;
    }));
    report.images_total = static_cast<int64_t>(all.size());
    STRATA_ASSIGN_OR_RETURN(report.images, Pick(all, options));
  } else {
    STRATA_ASSIGN_OR_RETURN(report.images,
                            images_->DeletePicked([&](const std::vector<ImageInfo>& all) {
                              report.images_total = static_cast<int64_t>(all.size());
                              return Pick(all, options);
                            }));
  }
  if (on_image) {
    for (const std::string& name : report.images) on_image(name);
  }
  std::set<std::string> gone(report.images.begin(), report.images.end());
  GcOptions gc;
  gc.dry_run = options.dry_run;
  gc.ingest_max_age = options.ingest_max_age;
  gc.without_images = &gone;
  STRATA_ASSIGN_OR_RETURN(report.gc, gc_->Collect(gc, on_item));
  return report;
}

}  // namespace strata::layerstore
