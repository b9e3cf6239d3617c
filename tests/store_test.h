// A gtest fixture over the whole core (layerstore::Store) in a temp root,
// with views of images mounted by the kernel's overlayfs and unmounted at
// the end. For in-process tests of the layer store.
#pragma once

#include <string>
#include <vector>

#include "layerstore/store.h"
#include "tests/test_util.h"

namespace strata::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;  // unmounts what MountImage/MountView mounted

  // Mounts a read-only view of the image's top layer (native key space, the
  // view keyed by its mount point); returns where, or "" after a failure.
  std::string MountImage(const std::string& name);
  std::string MountView(const std::string& parent,
                        snapshotter::KeySpace space = snapshotter::KeySpace::kNative);
  // Unmounts every view and removes its snapshot.
  void UnmountAll();

  TempDir tmp_;
  std::unique_ptr<layerstore::Store> store_;
  // Shorthands for store_'s parts.
  snapshotter::Snapshotter* snapshots_ = nullptr;
  layerstore::ContentStore* content_ = nullptr;
  layerstore::ImageStore* images_ = nullptr;
  layerstore::Importer* importer_ = nullptr;
  layerstore::Committer* committer_ = nullptr;
  meta::Leases* leases_ = nullptr;
  layerstore::GarbageCollector* gc_ = nullptr;
  // Mount points TearDown unmounts, with the key space of their snapshot.
  std::vector<std::pair<std::string, snapshotter::KeySpace>> mounted_;
};

}  // namespace strata::testing
