#include "snapshotter/mount_specs.h"

#include "absl/strings/str_cat.h"

namespace strata::snapshotter {
namespace {

MountSpec Bind(const std::string& dir, bool readonly) {
  return MountSpec{"bind", dir, "", {readonly ? "ro" : "rw", "rbind"}};
}

}  // namespace

std::vector<MountSpec> BuildMounts(const Layout& layout, Kind kind, uint64_t id,
                                   const std::vector<std::string>& lower_dirs) {
  if (lower_dirs.empty()) return {Bind(layout.FilesDir(id), kind == Kind::kView)};
  if (kind == Kind::kView && lower_dirs.size() == 1) return {Bind(lower_dirs[0], true)};
  // index=off: the inode index would tie lower layers to one upper; layers here
  // are shared by many mounts at once.
  std::vector<std::string> options = {"index=off"};
  if (kind == Kind::kActive) {
    options.push_back(absl::StrCat("workdir=", layout.WorkDir(id)));
    options.push_back(absl::StrCat("upperdir=", layout.FilesDir(id)));
  }
  std::string lower = "lowerdir=";
  for (size_t i = 0; i < lower_dirs.size(); ++i) {
    if (i > 0) lower.push_back(':');
    lower += lower_dirs[i];
  }
  options.push_back(std::move(lower));
  return {MountSpec{"overlay", "overlay", "", std::move(options)}};
}

}  // namespace strata::snapshotter
