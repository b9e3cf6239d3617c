#include "layerstore/store.h"

#include "common/log.h"
#include "common/status_util.h"

namespace strata::layerstore {

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& root,
                                                   const UnpackOptions& unpack,
                                                   const std::string& sized_backend) {
  auto s = std::make_unique<Store>();
  STRATA_ASSIGN_OR_RETURN(s->db, meta::Db::Open({root + "/meta"}));
  snapshotter::Snapshotter::Options snapshot_options;
  snapshot_options.root = root;
  snapshot_options.sized_backend = sized_backend;
  STRATA_ASSIGN_OR_RETURN(s->snapshots,
                          snapshotter::Snapshotter::Open(s->db.get(), snapshot_options));
  STRATA_ASSIGN_OR_RETURN(s->content, ContentStore::Open(s->db.get(), root));
  s->images = std::make_unique<ImageStore>(s->db.get(), s->content.get());
  s->unpacker = std::make_unique<Unpacker>(s->content.get(), s->snapshots.get(), unpack);
  s->importer = std::make_unique<Importer>(s->content.get(), s->images.get(), s->unpacker.get());
  s->committer = std::make_unique<Committer>(s->content.get(), s->images.get(), s->snapshots.get());
  s->squasher = std::make_unique<Squasher>(s->content.get(), s->images.get(), s->unpacker.get(),
                                           s->committer.get(), s->snapshots.get());
  s->leases = std::make_unique<meta::Leases>(s->db.get());
  s->gc = std::make_unique<GarbageCollector>(s->db.get(), s->content.get(), s->images.get(),
                                             s->snapshots.get());
  s->pruner = std::make_unique<Pruner>(s->images.get(), s->snapshots.get(), s->gc.get());
  STRATA_ASSIGN_OR_RETURN(int renamed, s->images->NormalizeStoredNames());
  if (renamed > 0) log::Info("image names normalised", {{"count", std::to_string(renamed)}});
  // Calls that died with the last process are rolled back as failed calls are.
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> temporary, s->leases->Temporary());
  for (const std::string& lease : temporary) {
    absl::Status undone = s->gc->Rollback(lease).status();
    if (undone.ok()) {
      ++s->calls_rolled_back;
      continue;
    }
    // A store the collector cannot read (see fsck) must still start: the
    // lease goes, and what the call made is left as garbage for a later gc.
    log::Warn("roll back a call that died", {{"lease", lease}, {"error", undone.ToString()}});
    absl::Status dropped = s->leases->Delete(lease);
    if (!dropped.ok() && !absl::IsNotFound(dropped)) return dropped;
  }
  return s;
}

}  // namespace strata::layerstore
