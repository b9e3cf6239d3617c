#include "layerstore/pruner.h"

#include <set>

#include "common/status_util.h"

namespace strata::layerstore {
namespace {

// Whether `options` lets `info` go at all (before asking what stands on it).
bool Considered(const ImageInfo& info, const PruneOptions& options) {
  return options.all || info.name.find('@') != std::string::npos;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Pruner::Pick(const std::vector<ImageInfo>& all,
                                                      const PruneOptions& options,
                                                      TopChains* tops) const {
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
    if (!Considered(info, options)) continue;
    auto top = tops->find(info.manifest);
    if (top == tops->end()) {  // recorded since the tops were read: read now
      absl::StatusOr<ResolvedImage> img = images_->Resolve(info);
      // An image that cannot be read is left to fsck, not pruned blind.
      if (!img.ok()) continue;
      top = tops->emplace(info.manifest, img->top_chain().str()).first;
    }
    if (used.count(top->second) == 0) picked.push_back(info.name);
  }
  return picked;
}

absl::StatusOr<PruneReport> Pruner::Prune(const PruneOptions& options,
                                          const std::function<void(const std::string&)>& on_image,
                                          const std::function<void(const GcItem&)>& on_item) {
  PruneReport report;
  // Each candidate's top layer, read from its manifest and config before the
  // deletion takes the writer lock: that I/O must not stall every writer.
  std::vector<ImageInfo> all;
  STRATA_RETURN_IF_ERROR(images_->List([&](const ImageInfo& info) {
    all.push_back(info);
    return true;
  }));
  TopChains tops;
  for (const ImageInfo& info : all) {
    if (!Considered(info, options)) continue;
    absl::StatusOr<ResolvedImage> img = images_->Resolve(info);
    if (img.ok()) tops.emplace(info.manifest, img->top_chain().str());
  }
  if (options.dry_run) {
    report.images_total = static_cast<int64_t>(all.size());
    STRATA_ASSIGN_OR_RETURN(report.images, Pick(all, options, &tops));
  } else {
    STRATA_ASSIGN_OR_RETURN(report.images,
                            images_->DeletePicked([&](const std::vector<ImageInfo>& now) {
                              report.images_total = static_cast<int64_t>(now.size());
                              return Pick(now, options, &tops);
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
