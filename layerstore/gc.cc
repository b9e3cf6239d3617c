#include "layerstore/gc.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/gc_labels.h"
#include "common/log.h"
#include "common/status_util.h"
#include "layerstore/work_counters.h"

namespace strata::layerstore {
namespace {

constexpr int kMaxIndexDepth = 4;
constexpr absl::string_view kContentRefLabel = "containerd.io/gc.ref.content";

}  // namespace

const char* GcKindName(GcItem::Kind kind) {
  switch (kind) {
    case GcItem::Kind::kSnapshot:
      return "snapshot";
    case GcItem::Kind::kBlob:
      return "blob";
    case GcItem::Kind::kIngest:
      return "ingest";
    case GcItem::Kind::kLease:
      return "lease";
    case GcItem::Kind::kOrphanDir:
      return "orphan-dir";
    case GcItem::Kind::kOrphanBlobFile:
      return "orphan-blob-file";
  }
  return "unknown";
}

absl::StatusOr<const GarbageCollector::Refs*> GarbageCollector::RefsOf(const Descriptor& d,
                                                                       int depth) {
  refs_used_.insert(d.digest);
  auto cached = refs_cache_.find(d.digest);
  if (cached != refs_cache_.end()) return &cached->second;
  std::string what = absl::StrCat("blob ", d.digest.str());
  STRATA_ASSIGN_OR_RETURN(std::string text, images_->ReadJsonBlob(d));
  Refs refs;
  if (IsIndexType(d.media_type) && depth < kMaxIndexDepth) {
    STRATA_ASSIGN_OR_RETURN(Index index, ParseIndex(text, what));
    for (const Descriptor& m : index.manifests) {
      refs.blobs.push_back(m.digest);
      absl::StatusOr<const Refs*> sub = RefsOf(m, depth + 1);
      if (absl::IsNotFound(sub.status()) && !content_->Has(m.digest)) continue;
      STRATA_RETURN_IF_ERROR(sub.status());
      refs.blobs.insert(refs.blobs.end(), (*sub)->blobs.begin(), (*sub)->blobs.end());
      refs.chains.insert(refs.chains.end(), (*sub)->chains.begin(), (*sub)->chains.end());
    }
  } else if (IsManifestType(d.media_type)) {
    STRATA_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(text, what));
    refs.blobs.push_back(manifest.config.digest);
    for (const Descriptor& l : manifest.layers) refs.blobs.push_back(l.digest);
    absl::StatusOr<std::string> config = images_->ReadJsonBlob(manifest.config);
    if (!config.ok() && !(depth > 0 && absl::IsNotFound(config.status()))) {
      return config.status();
    }
    if (config.ok()) {
      STRATA_ASSIGN_OR_RETURN(ImageConfig parsed,
                              ParseConfig(*config, "config " + manifest.config.digest.str()));
      refs.chains = ChainIds(parsed.diff_ids);
    }
  }
  return &refs_cache_.emplace(d.digest, std::move(refs)).first->second;
}

absl::StatusOr<GcReport> GarbageCollector::Collect(
    const GcOptions& options, const std::function<void(const GcItem&)>& on_item) {
  MutexLock run(&run_mu_);
  absl::Time start = absl::Now();
  GcReport report;
  auto emit = [&](GcItem item) {
    report.bytes += item.bytes;
    if (on_item) on_item(item);
    report.removed.push_back(std::move(item));
  };
  refs_used_.clear();

  // Before the lock: parse what images reference (usually all cached).
  std::vector<ImageInfo> images;
  STRATA_RETURN_IF_ERROR(images_->List([&](const ImageInfo& info) {
    images.push_back(info);
    return true;
  }));
  for (const ImageInfo& img : images) {
    // Errors are reported under the lock below (the image may be gone by then).
    (void)RefsOf(img.target, 0);
  }

  std::vector<BlobInfo> swept_blobs;
  snapshotter::Snapshotter::CollectPlan snapshots;
  std::set<std::string> leased_ingests;
  {
    absl::Time locked = absl::Now();
    meta::WriteTxn txn(db_);
    // From here until Commit no writer can change any record: the marks below
    // see one state, and the removals are staged against that same state.
    absl::Time now = absl::Now();
    std::set<std::string> live_leases;
    std::vector<std::string> expired;
    const GcScope* scope = options.scope;
    if (scope != nullptr) STRATA_RETURN_IF_ERROR(leases_.StageDelete(txn, scope->lease));
    STRATA_RETURN_IF_ERROR(leases_.List([&](const meta::LeaseInfo& l) {
      if (scope != nullptr) {
        if (l.id != scope->lease && !l.Expired(now)) live_leases.insert(l.id);
      } else if (l.Expired(now)) {
        expired.push_back(l.id);
      } else {
        live_leases.insert(l.id);
      }
    }));
    std::set<Digest> blob_roots;
    std::set<std::string> snapshot_roots;  // native keys
    STRATA_RETURN_IF_ERROR(leases_.AllResources(
        [&](absl::string_view lease, meta::LeaseResource kind, absl::string_view resource) {
          if (!live_leases.count(std::string(lease))) return;
          if (kind == meta::LeaseResource::kBlob) {
            blob_roots.insert(Digest::FromHex(std::string(resource)));
          } else if (kind == meta::LeaseResource::kIngest) {
            leased_ingests.insert(std::string(resource));
          } else if (kind == meta::LeaseResource::kSnapshot && !resource.empty() &&
                     resource[0] == static_cast<char>(snapshotter::KeySpace::kNative)) {
            snapshot_roots.insert(std::string(resource.substr(1)));
          }
        }));
    // Images recorded since the list above are resolved here, under the lock.
    absl::Status unreadable;
    // Called right here, under run_mu_ (the analysis cannot see through List).
    STRATA_RETURN_IF_ERROR(
        images_->List([&](const ImageInfo& img) ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_) {
          if (options.dry_run && options.without_images != nullptr &&
              options.without_images->count(img.name) > 0) {
            return true;  // as if deleted
          }
          blob_roots.insert(img.target.digest);
          absl::StatusOr<const Refs*> refs = RefsOf(img.target, 0);
          if (!refs.ok()) {
            unreadable =
                Annotate(refs.status(), absl::StrCat("image \"", img.name,
                                                     "\": cannot read what it references; "
                                                     "nothing collected (see strata fsck)"));
            return false;
          }
          blob_roots.insert((*refs)->blobs.begin(), (*refs)->blobs.end());
          for (const Digest& c : (*refs)->chains) snapshot_roots.insert(c.str());
          return true;
        }));
    STRATA_RETURN_IF_ERROR(unreadable);

    std::map<Digest, BlobInfo> blobs;
    STRATA_RETURN_IF_ERROR(content_->Walk([&](const BlobInfo& b) {
      if (HasGcRootLabel(b.labels)) blob_roots.insert(b.digest);
      blobs.emplace(b.digest, b);
      return true;
    }));
    std::set<Digest> marked;
    std::vector<Digest> stack(blob_roots.begin(), blob_roots.end());
    while (!stack.empty()) {
      Digest d = std::move(stack.back());
      stack.pop_back();
      auto it = blobs.find(d);
      if (it == blobs.end() || !marked.insert(d).second) continue;
      for (const auto& [key, value] : it->second.labels) {
        if (!absl::StartsWith(key, kContentRefLabel)) continue;
        absl::StatusOr<Digest> ref = Digest::Parse(value);
        if (ref.ok()) stack.push_back(*ref);
      }
    }
    for (const auto& [digest, info] : blobs) {
      if (marked.count(digest) || (scope != nullptr && !scope->blobs.count(digest))) continue;
      content_->StageCollect(txn, digest);
      swept_blobs.push_back(info);
    }
    report.blobs_kept = static_cast<int64_t>(marked.size());

    STRATA_ASSIGN_OR_RETURN(
        snapshots, snapshots_->StageCollect(txn, snapshot_roots,
                                            scope != nullptr ? &scope->snapshots : nullptr));
    report.snapshots_kept = snapshots.kept;
    for (const std::string& id : expired) STRATA_RETURN_IF_ERROR(leases_.StageDelete(txn, id));
    if (!options.dry_run) STRATA_RETURN_IF_ERROR(txn.Commit());
    report.writers_paused = absl::Now() - locked;
    for (const std::string& id : expired) emit({GcItem::Kind::kLease, id, 0});
  }
  // Records are gone: now the files, leaves first.
  for (const auto& c : snapshots.swept) emit({GcItem::Kind::kSnapshot, c.key, c.bytes});
  if (!options.dry_run) snapshots_->ReapCollected(snapshots.swept);
  for (const BlobInfo& b : swept_blobs) {
    if (!options.dry_run) STRATA_RETURN_IF_ERROR(content_->RemoveCollectedFile(b.digest));
    emit({GcItem::Kind::kBlob, b.digest.str(), b.size});
  }

  if (options.scope == nullptr)
    STRATA_RETURN_IF_ERROR(CollectLeftovers(options, leased_ingests, emit));
  // Keep only what this run used: the cache never outgrows the images.
  for (auto it = refs_cache_.begin(); it != refs_cache_.end();) {
    it = refs_used_.count(it->first) ? std::next(it) : refs_cache_.erase(it);
  }
  report.elapsed = absl::Now() - start;
  const char* what = options.scope != nullptr ? "rollback" : options.dry_run ? "gc dry run" : "gc";
  log::Info(what,
            {{"items", std::to_string(report.removed.size())},
             {"bytes", std::to_string(report.bytes)},
             {"writers_paused_ms", absl::StrCat(absl::ToDoubleMilliseconds(report.writers_paused))},
             {"seconds", absl::StrCat(absl::ToDoubleSeconds(report.elapsed))}});
  if (options.scope == nullptr && !options.dry_run) {
    Counters().NoteGc(static_cast<int64_t>(report.removed.size()), report.bytes, report.elapsed);
  }
  return report;
}

absl::Status GarbageCollector::CollectLeftovers(const GcOptions& options,
                                                const std::set<std::string>& leased_ingests,
                                                const std::function<void(GcItem)>& emit) {
  // Stale ingests.
  absl::Time cutoff = absl::Now() - options.ingest_max_age;
  std::vector<IngestStatus> stale;
  STRATA_RETURN_IF_ERROR(content_->ListIngests([&](const IngestStatus& st) {
    if (st.updated < cutoff && !leased_ingests.count(st.ref)) stale.push_back(st);
  }));
  for (const IngestStatus& st : stale) {
    if (options.dry_run) {
      emit({GcItem::Kind::kIngest, st.ref, st.offset});
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(std::optional<int64_t> freed,
                            content_->AbortIfIdleSince(st.ref, cutoff));
    if (freed) emit({GcItem::Kind::kIngest, st.ref, *freed});
  }

  // What no record owns: left by a crash, or by hand.
  STRATA_ASSIGN_OR_RETURN(auto orphans, snapshots_->CollectOrphanDirs(options.dry_run));
  for (const auto& o : orphans) emit({GcItem::Kind::kOrphanDir, "snapshots/" + o.name, o.bytes});
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> files, content_->UnrecordedFiles());
  for (const std::string& name : files) {
    if (!options.dry_run) STRATA_RETURN_IF_ERROR(content_->RemoveUnrecordedFile(name));
    emit({GcItem::Kind::kOrphanBlobFile, name, 0});
  }
  return absl::OkStatus();
}

absl::StatusOr<GcReport> GarbageCollector::Rollback(const std::string& lease) {
  GcScope scope;
  scope.lease = lease;
  STRATA_RETURN_IF_ERROR(
      leases_.Created(lease, [&](meta::LeaseResource kind, absl::string_view resource) {
        if (kind == meta::LeaseResource::kBlob) {
          scope.blobs.insert(Digest::FromHex(std::string(resource)));
        } else if (kind == meta::LeaseResource::kSnapshot && !resource.empty() &&
                   resource[0] == static_cast<char>(snapshotter::KeySpace::kNative)) {
          scope.snapshots.insert(std::string(resource.substr(1)));
        }
      }));
  GcOptions options;
  options.scope = &scope;
  return Collect(options);
}

}  // namespace strata::layerstore
