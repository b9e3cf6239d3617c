// The whole core over one store root, wired once: stratad serves it, tests
// drive it in-process. Opening runs every part's start-up recovery.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "layerstore/committer.h"
#include "layerstore/content_store.h"
#include "layerstore/gc.h"
#include "layerstore/image_store.h"
#include "layerstore/importer.h"
#include "layerstore/pruner.h"
#include "layerstore/squasher.h"
#include "layerstore/unpacker.h"
#include "meta/db.h"
#include "meta/leases.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct Store {
  // Opens (creating) the store at `root`. `sized_backend`: see
  // snapshotter::Snapshotter::Options.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& root,
                                                     const UnpackOptions& unpack = {},
                                                     const std::string& sized_backend = "auto");

  std::unique_ptr<meta::Db> db;
  std::unique_ptr<snapshotter::Snapshotter> snapshots;
  std::unique_ptr<ContentStore> content;
  std::unique_ptr<ImageStore> images;
  std::unique_ptr<Unpacker> unpacker;
  std::unique_ptr<Importer> importer;
  std::unique_ptr<Committer> committer;
  std::unique_ptr<Squasher> squasher;
  std::unique_ptr<meta::Leases> leases;
  std::unique_ptr<GarbageCollector> gc;
  std::unique_ptr<Pruner> pruner;
  // Calls rolled back at opening (CallScope): they died with the last process.
  // (One that cannot be rolled back only loses its lease, and is not counted.)
  int calls_rolled_back = 0;
};

}  // namespace strata::layerstore
