// Sized writable layers as btrfs subvolumes with a qgroup limit, when the
// store's root is on btrfs: no image, no loop device, no second filesystem.
//
// Snapshot directory `id` becomes a subvolume holding f/ and w/; its qgroup
// (0/<subvolume id>, made by btrfs with the subvolume) limits the bytes it
// refers to, so a write past the size fails with EDQUOT. Usage is the
// qgroup's count (after a sync, as btrfs accounts at transaction commit)
// and the subvolume's inode items, read from btrfs's trees, not by walking
// the files. Quotas are turned on at the first sized layer, not before: they
// cost every write on the filesystem something.
//
// btrfs cannot reserve space up front, so this backend makes dynamic layers
// only; fixed ones go to ext4-loop (sized_space.h).
//
// A subvolume is the directory itself, so it is gone when the directory is:
// a crash leaves at most a subvolume without a record, which recovery and
// fsck find by looking at each directory.
//
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "snapshotter/layout.h"
#include "snapshotter/space_backend.h"

namespace strata::snapshotter {

class BtrfsQgroupBackend : public SpaceBackend {
 public:
  // Null with `*missing` set when the store's root is not on btrfs.
  // `layout` must outlive the backend.
  static std::unique_ptr<BtrfsQgroupBackend> Create(const Layout* layout, std::string* missing);

  const char* name() const override { return "btrfs-qgroup"; }
  // Under this a qgroup limit cannot hold even an empty layer's metadata.
  int64_t min_bytes() const override { return 1 << 20; }
  bool Supports(DiskKind kind) const override { return kind == DiskKind::kDynamic; }
  absl::Status Make(uint64_t id, const SizeRequest& request) override;
  absl::StatusOr<DiskUsage> Measure(uint64_t id) override;
  absl::Status Restore(uint64_t) override { return absl::OkStatus(); }  // nothing to mount
  absl::Status Release(uint64_t id) override;
  absl::StatusOr<std::set<uint64_t>> Held() const override;
  std::vector<Stray> Strays(bool) override { return {}; }

 private:
  explicit BtrfsQgroupBackend(const Layout* layout) : layout_(layout) {}

  absl::Status EnableQuotas();
  bool IsSubvolume(uint64_t id) const;
  // Deletes the qgroups of deleted subvolumes that btrfs has finished
  // cleaning up (it refuses while the cleaner still works on one).
  void DropStaleQgroups(int dir_fd);

  const Layout* layout_;
  Mutex mu_;
  bool quotas_on_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<uint64_t> stale_qgroups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::snapshotter
