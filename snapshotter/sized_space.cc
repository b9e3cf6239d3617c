#include "snapshotter/sized_space.h"

#include "absl/strings/str_cat.h"
#include "common/status_util.h"
#include "snapshotter/ext4_loop_backend.h"

namespace strata::snapshotter {

absl::StatusOr<std::unique_ptr<SizedSpace>> SizedSpace::Open(const Layout* layout,
                                                             const std::string& choice) {
  if (choice != "auto" && choice != "none" && choice != "ext4-loop") {
    return absl::InvalidArgumentError(
        absl::StrCat("sized layer backend \"", choice, "\" is not one of auto, ext4-loop, none"));
  }
  std::unique_ptr<SizedSpace> space(new SizedSpace());
  std::string missing;
  if (auto ext4 = Ext4LoopBackend::Create(layout, &missing)) {
    space->backends_.push_back(std::move(ext4));
  } else {
    space->unavailable_ = absl::StrCat("ext4-loop needs ", missing);
  }
  if (choice == "none") {
    space->unavailable_ = "sized layers are turned off (--sized-backend none)";
    return space;
  }
  for (const auto& b : space->backends_) {
    if (choice == "auto" || choice == b->name()) {
      space->maker_ = b.get();
      space->unavailable_.clear();
      break;
    }
  }
  if (space->maker_ == nullptr && choice != "auto") {
    return absl::FailedPreconditionError(
        absl::StrCat("sized layer backend ", choice, " cannot run here: ", space->unavailable_));
  }
  return space;
}

SpaceBackend* SizedSpace::Find(const std::string& name) const {
  for (const auto& b : backends_) {
    if (name == b->name()) return b.get();
  }
  return nullptr;
}

absl::Status SizedSpace::Check(const SizeRequest& request) const {
  if (maker_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("this store cannot make sized layers: ", unavailable_));
  }
  if (request.bytes < maker_->min_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("size ", request.bytes, " is under ",
                                                   maker_->name(), "'s minimum of ",
                                                   maker_->min_bytes(), " bytes"));
  }
  if (!maker_->Supports(request.kind)) {
    return absl::FailedPreconditionError(
        absl::StrCat(maker_->name(), " cannot make fixed layers (reserving space up front)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<meta::v1::SizedLayer> SizedSpace::Make(uint64_t id, const SizeRequest& request) {
  STRATA_RETURN_IF_ERROR(Check(request));
  STRATA_RETURN_IF_ERROR(maker_->Make(id, request));
  absl::StatusOr<DiskUsage> base = maker_->Measure(id);
  if (!base.ok()) {
    (void)maker_->Release(id);
    return base.status();
  }
  meta::v1::SizedLayer sized;
  sized.set_backend(maker_->name());
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
