#include "snapshotter/flattened_chains.h"

#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "snapshotter/layer_apply.h"

namespace strata::snapshotter {

absl::StatusOr<std::vector<std::string>> FlattenedChains::LowerDirs(
    const std::vector<uint64_t>& parent_ids) {
  size_t depth = parent_ids.size();
  size_t kept = depth;  // layers mounted as themselves, nearest first
  if (depth > kMaxLowerDirs) {
    // Flatten the lowest `flat` layers, a multiple of kStep, so that what is
    // left plus the merged directory fits.
    size_t flat = (depth - (kMaxLowerDirs - 1) + kStep - 1) / kStep * kStep;
    kept = depth - flat;
  }
  std::vector<std::string> lowers;
  lowers.reserve(kept + 1);
  for (size_t i = 0; i < kept; ++i) lowers.push_back(layout_->FilesDir(parent_ids[i]));
  if (kept < depth) {
    std::vector<uint64_t> chain(parent_ids.begin() + static_cast<long>(kept), parent_ids.end());
    STRATA_ASSIGN_OR_RETURN(std::string merged, Merged(chain));
    lowers.push_back(std::move(merged));
  }
  return lowers;
}

absl::StatusOr<std::string> FlattenedChains::Merged(const std::vector<uint64_t>& chain) {
  std::string merged = layout_->MergedDir(chain.front());
  MutexLock l(&mu_);
  if (PathExists(merged)) return merged;
  std::string staging = merged + ".tmp";
  STRATA_RETURN_IF_ERROR(RemoveTree(staging));  // a build a crash cut short
  if (::mkdir(staging.c_str(), 0755) != 0) return ErrnoToStatus(errno, "mkdir " + staging);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    absl::Status applied = ApplyLayer(layout_->FilesDir(*it), staging);
    if (!applied.ok()) {
      (void)RemoveTree(staging);
      return applied;
    }
  }
  STRATA_RETURN_IF_ERROR(SyncFilesystem(staging));
  if (::rename(staging.c_str(), merged.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename " + staging);
  }
  log::Info("flattened a deep chain",
            {{"layers", std::to_string(chain.size())}, {"top", Layout::IdName(chain.front())}});
  return merged;
}

}  // namespace strata::snapshotter
