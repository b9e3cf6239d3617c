#include "snapshotter/sized_space.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_util.h"
#include "snapshotter/btrfs_qgroup_backend.h"
#include "snapshotter/ext4_loop_backend.h"

namespace strata::snapshotter {

absl::StatusOr<std::unique_ptr<SizedSpace>> SizedSpace::Open(const Layout* layout,
                                                             const std::string& choice) {
  if (choice != "auto" && choice != "none" && choice != "ext4-loop" && choice != "btrfs-qgroup") {
    return absl::InvalidArgumentError(absl::StrCat(
        "sized layer backend \"", choice, "\" is not one of auto, btrfs-qgroup, ext4-loop, none"));
  }
  std::unique_ptr<SizedSpace> space(new SizedSpace());
  std::vector<std::string> missing;
  std::string why;
  // Best first: btrfs needs no image, loop device or second filesystem.
  if (auto btrfs = BtrfsQgroupBackend::Create(layout, &why)) {
    space->backends_.push_back(std::move(btrfs));
  } else {
    missing.push_back(absl::StrCat("btrfs-qgroup needs ", why));
  }
  if (auto ext4 = Ext4LoopBackend::Create(layout, &why)) {
    space->backends_.push_back(std::move(ext4));
  } else {
    missing.push_back(absl::StrCat("ext4-loop needs ", why));
  }
  if (choice == "none") {
    space->unavailable_ = "sized layers are turned off (--sized-backend none)";
    return space;
  }
  for (const auto& b : space->backends_) {
    if (choice == "auto" || choice == b->name()) space->makers_.push_back(b.get());
  }
  if (space->makers_.empty()) {
    space->unavailable_ = absl::StrJoin(missing, "; ");
    if (choice != "auto") {
      return absl::FailedPreconditionError(
          absl::StrCat("sized layer backend ", choice, " cannot run here: ", space->unavailable_));
    }
  }
  return space;
}

std::string SizedSpace::maker_name() const {
  std::vector<std::string> names;
  for (const SpaceBackend* b : makers_) names.push_back(b->name());
  return absl::StrJoin(names, ", ");
}

SpaceBackend* SizedSpace::Find(const std::string& name) const {
  for (const auto& b : backends_) {
    if (name == b->name()) return b.get();
  }
  return nullptr;
}

SpaceBackend* SizedSpace::MakerFor(DiskKind kind) const {
  for (SpaceBackend* b : makers_) {
    if (b->Supports(kind)) return b;
  }
  return nullptr;
}

absl::Status SizedSpace::Check(const SizeRequest& request) const {
  if (makers_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this store cannot make sized layers: ", unavailable_));
  }
  SpaceBackend* maker = MakerFor(request.kind);
  if (maker == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        maker_name(), " cannot make fixed layers (space reserved up front); ext4-loop can"));
  }
  if (request.bytes < maker->min_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("size ", request.bytes, " is under ",
                                                   maker->name(), "'s minimum of ",
                                                   maker->min_bytes(), " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<meta::v1::SizedLayer> SizedSpace::Make(uint64_t id, const SizeRequest& request) {
  STRATA_RETURN_IF_ERROR(Check(request));
  SpaceBackend* maker = MakerFor(request.kind);
  STRATA_RETURN_IF_ERROR(maker->Make(id, request));
  absl::StatusOr<DiskUsage> base = maker->Measure(id);
  if (!base.ok()) {
    (void)maker->Release(id);
    return base.status();
  }
  meta::v1::SizedLayer sized;
  sized.set_backend(maker->name());
  sized.set_max_bytes(request.bytes);
  sized.set_fixed(request.kind == DiskKind::kFixed);
  sized.set_base_bytes(base->bytes);
  sized.set_base_inodes(base->inodes);
  return sized;
}

absl::StatusOr<DiskUsage> SizedSpace::Measure(uint64_t id, const meta::v1::SizedLayer& sized) {
  SpaceBackend* backend = Find(sized.backend());
  if (backend == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("sized layer backend ", sized.backend(), " is not available here"));
  }
  STRATA_ASSIGN_OR_RETURN(DiskUsage used, backend->Measure(id));
  used.bytes = std::max<int64_t>(0, used.bytes - sized.base_bytes());
  used.inodes = std::max<int64_t>(0, used.inodes - sized.base_inodes());
  return used;
}

absl::Status SizedSpace::Restore(uint64_t id) {
  for (const auto& b : backends_) STRATA_RETURN_IF_ERROR(b->Restore(id));
  return absl::OkStatus();
}

absl::Status SizedSpace::Release(uint64_t id) {
  for (const auto& b : backends_) STRATA_RETURN_IF_ERROR(b->Release(id));
  return absl::OkStatus();
}

absl::StatusOr<std::set<uint64_t>> SizedSpace::Held() const {
  std::set<uint64_t> ids;
  for (const auto& b : backends_) {
    STRATA_ASSIGN_OR_RETURN(std::set<uint64_t> held, b->Held());
    ids.insert(held.begin(), held.end());
  }
  return ids;
}

std::vector<SpaceBackend::Stray> SizedSpace::Strays(bool repair) {
  std::vector<SpaceBackend::Stray> all;
  for (const auto& b : backends_) {
    for (auto& s : b->Strays(repair)) all.push_back(std::move(s));
  }
  return all;
}

}  // namespace strata::snapshotter
