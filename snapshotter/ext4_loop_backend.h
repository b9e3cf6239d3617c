// Sized writable layers as ext4 images on loop devices: works on any host
// filesystem that holds sparse files.
//
// Snapshot directory `id` becomes the mount point of disks/<id36>-d.img
// (dynamic: sparse, its blocks taken as written and given back by discard)
// or disks/<id36>-f.img (fixed: every block fallocated at Make, so the host
// has the space reserved). Each image is a copy of the template for its size
// (ext4_templates.h). The suffix says how to mount it again after a reboot;
// the image's existence says the directory is sized.
//
// Crash ordering in Make: image, then loop device (autoclear, so a crash
// before the mount leaks nothing), then mount. In Release: unmount (lazily
// when a container still has it open; the device then goes with its last
// user), then the image. An image or mount whose id has no record is the
// caller's to release at recovery.
//
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "snapshotter/ext4_templates.h"
#include "snapshotter/layout.h"
#include "snapshotter/space_backend.h"

namespace strata::snapshotter {

class Ext4LoopBackend : public SpaceBackend {
 public:
  // Null with `*missing` set to what the host lacks (loop devices, mkfs.ext4).
  // `layout` must outlive the backend.
  static std::unique_ptr<Ext4LoopBackend> Create(const Layout* layout, std::string* missing);

  const char* name() const override { return "ext4-loop"; }
  int64_t min_bytes() const override { return Ext4Templates::kMinBytes; }
  bool Supports(DiskKind) const override { return true; }
  absl::Status Make(uint64_t id, const SizeRequest& request) override;
  absl::StatusOr<DiskUsage> Measure(uint64_t id) override;
  absl::Status Restore(uint64_t id) override;
  absl::Status Release(uint64_t id) override;
  absl::StatusOr<std::set<uint64_t>> Held() const override;
  std::vector<Stray> Strays(bool repair) override;

 private:
  Ext4LoopBackend(const Layout* layout, std::string mkfs);

  std::string ImagePath(uint64_t id, DiskKind kind) const;
  // The image `id` has, if any, and its kind.
  std::optional<std::pair<std::string, DiskKind>> FindImage(uint64_t id) const;
  // Attaches `image` and mounts it on snapshot directory `id`.
  absl::Status MountImage(uint64_t id, const std::string& image, DiskKind kind);
  bool Mounted(uint64_t id) const;

  const Layout* layout_;
  Ext4Templates templates_;
};

}  // namespace strata::snapshotter
