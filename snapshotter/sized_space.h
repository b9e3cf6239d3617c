// The sized-layer backends a store has, chosen once at start-up.
//
// One backend makes new sized layers (the best the host can do: btrfs
// qgroups when the store is on btrfs, else ext4 images on loop devices);
// every backend the host supports is kept for releasing and restoring what
// earlier runs made, so a change of choice never strands a layer.
//
// Thread-safe.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "snapshotter/layout.h"
#include "snapshotter/space_backend.h"
#include "strata/meta/v1/records.pb.h"

namespace strata::snapshotter {

class SizedSpace {
 public:
  // `choice`: "auto", "ext4-loop", "btrfs-qgroup" or "none". A named backend
  // the host cannot run is an error (FailedPrecondition naming what is
  // missing). With "auto", a kind the first backend cannot make (btrfs and
  // fixed layers) goes to the next. `layout` must outlive this.
  static absl::StatusOr<std::unique_ptr<SizedSpace>> Open(const Layout* layout,
                                                          const std::string& choice);

  // The backends making sized layers, best first ("" when none) and, when
  // none, why: "btrfs-qgroup, ext4-loop".
  std::string maker_name() const;
  const std::string& unavailable() const { return unavailable_; }

  // Whether `request` can be made: FailedPrecondition without a backend (or
  // one that cannot make its kind), InvalidArgument under its minimum.
  absl::Status Check(const SizeRequest& request) const;
  // Gives snapshot directory `id` the space `request` asks for and returns
  // what to record. Errors as Check's, or the backend's. On error nothing is
  // left.
  absl::StatusOr<meta::v1::SizedLayer> Make(uint64_t id, const SizeRequest& request);
  // The usage of a sized layer, without walking its files.
  absl::StatusOr<DiskUsage> Measure(uint64_t id, const meta::v1::SizedLayer& sized);
  // Mounts again what a reboot unmounted (for ids some record owns).
  absl::Status Restore(uint64_t id);
  // Gives back whatever space any backend holds for `id` (idempotent).
  absl::Status Release(uint64_t id);
  // Every id some backend holds space for.
  absl::StatusOr<std::set<uint64_t>> Held() const;
  std::vector<SpaceBackend::Stray> Strays(bool repair);

 private:
  SpaceBackend* Find(const std::string& name) const;
  // The first maker that makes `kind`, or null.
  SpaceBackend* MakerFor(DiskKind kind) const;

  std::vector<std::unique_ptr<SpaceBackend>> backends_;  // every one the host can run
  std::vector<SpaceBackend*> makers_;                    // those chosen, best first
  std::string unavailable_;
};

}  // namespace strata::snapshotter
