#include "tests/store_test.h"

#include "common/fs.h"
#include "common/mount.h"

namespace strata::testing {

void StoreTest::SetUp() {
  ASSERT_OK_AND_ASSIGN(store_, layerstore::Store::Open(tmp_.Sub("root")));
  snapshots_ = store_->snapshots.get();
  content_ = store_->content.get();
  images_ = store_->images.get();
  importer_ = store_->importer.get();
  committer_ = store_->committer.get();
  leases_ = store_->leases.get();
  gc_ = store_->gc.get();
}

void StoreTest::TearDown() {
  for (const auto& [dir, space] : mounted_) EXPECT_OK(Unmount(dir));
}

std::string StoreTest::MountImage(const std::string& name) {
  absl::StatusOr<layerstore::ResolvedImage> img = images_->Resolve(name);
  EXPECT_OK(img);
  if (!img.ok()) return "";
  return MountView(img->top_chain().str());
}

std::string StoreTest::MountView(const std::string& parent, snapshotter::KeySpace space) {
  std::string dir = tmp_.Sub("mnt-" + std::to_string(mounted_.size()));
  EXPECT_OK(MakeDirs(dir));
  auto mounts = snapshots_->View(space, dir, parent, {});
  EXPECT_OK(mounts);
  if (!mounts.ok()) return "";
  EXPECT_OK(MountAll(*mounts, dir));
  mounted_.emplace_back(dir, space);
  return dir;
}

void StoreTest::UnmountAll() {
  for (const auto& [dir, space] : mounted_) {
    EXPECT_OK(Unmount(dir));
    EXPECT_OK(snapshots_->Remove(space, dir));
  }
  mounted_.clear();
}

}  // namespace strata::testing
