#include "tests/core_store.h"

#include "common/status_util.h"

namespace strata::testing {

absl::StatusOr<std::unique_ptr<CoreStore>> CoreStore::Open(const std::string& root) {
  auto s = std::make_unique<CoreStore>();
  STRATA_ASSIGN_OR_RETURN(s->db, meta::Db::Open({root + "/meta"}));
  STRATA_ASSIGN_OR_RETURN(s->snapshots, snapshotter::Snapshotter::Open(s->db.get(), {root}));
  STRATA_ASSIGN_OR_RETURN(s->content, layerstore::ContentStore::Open(s->db.get(), root));
  s->images = std::make_unique<layerstore::ImageStore>(s->db.get(), s->content.get());
  s->unpacker = std::make_unique<layerstore::Unpacker>(s->content.get(), s->snapshots.get(),
                                                       layerstore::UnpackOptions{});
  s->importer =
      std::make_unique<layerstore::Importer>(s->content.get(), s->images.get(), s->unpacker.get());
  s->committer = std::make_unique<layerstore::Committer>(s->content.get(), s->images.get(),
                                                         s->snapshots.get());
  s->leases = std::make_unique<meta::Leases>(s->db.get());
  s->gc = std::make_unique<layerstore::GarbageCollector>(s->db.get(), s->content.get(),
                                                         s->images.get(), s->snapshots.get());
  return s;
}

}  // namespace strata::testing
