// Sized writable layers: the seam between the snapshotter and what limits a
// writable layer's space (an ext4 image on a loop device, a btrfs qgroup).
//
// A backend gives a snapshot directory (snapshots/<id>, made by the pool) a
// filesystem of its own, limited to the requested size, holding the overlay's
// upper (f/) and work (w/) directories, so every path the snapshotter uses is
// the same as for a plain directory. It measures that space without walking
// it and releases it. Which directories hold such space is the backend's own
// state on disk (image files, subvolumes), so recovery and fsck can find
// what a crash left without trusting metadata.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/fs.h"
#include "snapshotter/types.h"

namespace strata::snapshotter {

// containerd's label for a writable layer's limit in bytes (CRI passes it
// from pod annotations), and strata's for how the space is taken.
inline constexpr char kMaxSizeLabel[] = "containerd.io/snapshot/max-size";
inline constexpr char kDiskLabel[] = "strata.io/snapshot/disk";

// How a sized layer takes space: all at Prepare (fixed: a started container
// can always write its full size), or as written (dynamic).
enum class DiskKind { kDynamic, kFixed };

struct SizeRequest {
  int64_t bytes = 0;
  DiskKind kind = DiskKind::kDynamic;
};

// The size a Prepare's labels ask for; nullopt when they ask for none.
// InvalidArgument for a size that is not a positive integer, a disk kind
// other than fixed or dynamic, or a disk kind without a size.
absl::StatusOr<std::optional<SizeRequest>> SizeRequestFromLabels(const Labels& labels);

class SpaceBackend {
 public:
  virtual ~SpaceBackend() = default;

  // "ext4-loop", "btrfs-qgroup".
  virtual const char* name() const = 0;
  // The smallest size this backend makes.
  virtual int64_t min_bytes() const = 0;
  virtual bool Supports(DiskKind kind) const = 0;

  // Gives snapshot directory `id` (existing, empty but for the pool's f/ and
  // w/) limited space holding empty f/ and w/. On error nothing is left.
  virtual absl::Status Make(uint64_t id, const SizeRequest& request) = 0;
  // What `id`'s space holds now: bytes of blocks and inodes, including the
  // filesystem's own (compare with the figure right after Make).
  virtual absl::StatusOr<DiskUsage> Measure(uint64_t id) = 0;
  // After a reboot: mounts `id`'s space again if this backend holds it.
  virtual absl::Status Restore(uint64_t id) = 0;
  // Gives back `id`'s space if this backend holds any; the directory itself
  // stays for the caller to remove. Idempotent, and cheap when there is none.
  virtual absl::Status Release(uint64_t id) = 0;
  // Every id this backend holds space for.
  virtual absl::StatusOr<std::set<uint64_t>> Held() const = 0;
  // Findings not tied to a held id (a loop device bound to a deleted image),
  // each repaired when `repair`.
  struct Stray {
    std::string what;
    bool repaired = false;
  };
  virtual std::vector<Stray> Strays(bool repair) = 0;
};

}  // namespace strata::snapshotter
