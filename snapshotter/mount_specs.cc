#include "snapshotter/mount_specs.h"

#include "absl/strings/str_cat.h"

namespace strata::snapshotter {
namespace {

MountSpec Bind(const std::string& dir, bool readonly) {
  return MountSpec{"bind", dir, "", {readonly ? "ro" : "rw", "rbind"}};
}

}  // namespace

std::vector<MountSpec> BuildMounts(const Layout& layout, Kind kind, uint64_t id,
                                   const std::vector<uint64_t>& parent_ids) {
  if (parent_ids.empty()) return {Bind(layout.FilesDir(id), kind == Kind::kView)};
  if (kind == Kind::kView && parent_ids.size() == 1) {
    return {Bind(layout.FilesDir(parent_ids[0]), true)};
  }
  // index=off: the inode index would tie lower layers to one upper; layers here
  // are shared by many mounts at once.
  std::vector<std::string> options = {"index=off"};
  if (kind == Kind::kActive) {
    options.push_back(absl::StrCat("workdir=", layout.WorkDir(id)));
    options.push_back(absl::StrCat("upperdir=", layout.FilesDir(id)));
  }
  std::string lower = "lowerdir=";
  for (size_t i = 0; i < parent_ids.size(); ++i) {
    if (i > 0) lower.push_back(':');
    lower += layout.FilesDir(parent_ids[i]);
  }
  options.push_back(std::move(lower));
  return {MountSpec{"overlay", "overlay", "", std::move(options)}};
}

}  // namespace strata::snapshotter
