// The whole core over one store root, wired as stratad wires it, for tests
// that drive the layer store in-process (no gRPC).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/gc.h"
#include "layerstore/image_store.h"
#include "layerstore/importer.h"
#include "layerstore/unpacker.h"
#include "meta/db.h"
#include "meta/leases.h"
#include "snapshotter/snapshotter.h"

namespace strata::testing {

struct CoreStore {
  // Opens (creating) the store at `root`, running start-up recovery.
  static absl::StatusOr<std::unique_ptr<CoreStore>> Open(const std::string& root);

  std::unique_ptr<meta::Db> db;
  std::unique_ptr<snapshotter::Snapshotter> snapshots;
  std::unique_ptr<layerstore::ContentStore> content;
  std::unique_ptr<layerstore::ImageStore> images;
  std::unique_ptr<layerstore::Unpacker> unpacker;
  std::unique_ptr<layerstore::Importer> importer;
  std::unique_ptr<layerstore::Committer> committer;
  std::unique_ptr<meta::Leases> leases;
  std::unique_ptr<layerstore::GarbageCollector> gc;
};

}  // namespace strata::testing
