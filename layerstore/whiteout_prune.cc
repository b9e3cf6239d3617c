#include "layerstore/whiteout_prune.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

enum class Kind { kMissing, kWhiteout, kDirectory, kOther };

absl::StatusOr<Kind> KindAt(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Kind::kMissing;
    return ErrnoToStatus(errno, absl::StrCat("lstat ", path));
  }
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return Kind::kWhiteout;
  return S_ISDIR(st.st_mode) ? Kind::kDirectory : Kind::kOther;
}

bool IsOpaque(const std::string& dir) {
  char v = 0;
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

// The directories that overlayfs merges for `comps` in `stack` (layer roots,
// top first), as it resolves them: a whiteout or a non-directory ends the
// walk below it, an opaque directory ends it after itself. Every component
// is looked at with lstat, so no symlink is ever followed.
absl::StatusOr<std::vector<std::string>> MergedDirs(std::vector<std::string> stack,
                                                    const std::vector<absl::string_view>& comps) {
  for (absl::string_view c : comps) {
    std::vector<std::string> next;
    for (const std::string& d : stack) {
      std::string p = absl::StrCat(d, "/", c);
      STRATA_ASSIGN_OR_RETURN(Kind k, KindAt(p));
      if (k == Kind::kMissing) continue;
      if (k != Kind::kDirectory) break;
      next.push_back(p);
      if (IsOpaque(p)) break;
    }
    stack = std::move(next);
    if (stack.empty()) break;
  }
  return stack;
}

// Whether a whiteout of `name` in directory `comps` of roots[0] hides an
// entry of a lower layer. REQUIRES: `comps` are directories in roots[0], so
// the merged walk starts with roots[0]'s own directory.
absl::StatusOr<bool> HidesSomething(const std::vector<std::string>& roots,
                                    const std::vector<absl::string_view>& comps,
                                    absl::string_view name) {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> dirs, MergedDirs(roots, comps));
  for (size_t i = 1; i < dirs.size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(Kind k, KindAt(absl::StrCat(dirs[i], "/", name)));
    if (k == Kind::kMissing) continue;
    return k != Kind::kWhiteout;  // a lower whiteout hid it already
  }
  return false;
}

// The directory's times are the layer's (they come from the tar), so they
// must not change because a whiteout went.
absl::Status UnlinkKeepingParentTimes(const std::string& dir, const std::string& name) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("lstat ", dir));
  std::string path = absl::StrCat(dir, "/", name);
  if (::unlink(path.c_str()) != 0) return ErrnoToStatus(errno, absl::StrCat("unlink ", path));
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("set times of ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> DropIdleWhiteouts(const std::string& layer_dir,
                                      const std::vector<std::string>& whiteouts,
                                      const std::vector<std::string>& lowers) {
  std::vector<std::string> roots;
  roots.push_back(layer_dir);
  roots.insert(roots.end(), lowers.begin(), lowers.end());
  int dropped = 0;
  for (const std::string& w : whiteouts) {
    std::vector<absl::string_view> comps = absl::StrSplit(w, '/', absl::SkipEmpty());
    if (comps.empty()) continue;
    // Still a whiteout, reached through directories of this layer only?
    absl::string_view name = comps.back();
    comps.pop_back();
    STRATA_ASSIGN_OR_RETURN(std::vector<std::string> own, MergedDirs({layer_dir}, comps));
    if (own.empty()) continue;
    std::string path = absl::StrCat(own[0], "/", name);
    STRATA_ASSIGN_OR_RETURN(Kind k, KindAt(path));
    if (k != Kind::kWhiteout) continue;
    STRATA_ASSIGN_OR_RETURN(bool needed, HidesSomething(roots, comps, name));
    if (needed) continue;
    STRATA_RETURN_IF_ERROR(UnlinkKeepingParentTimes(own[0], std::string(name)));
    ++dropped;
  }
  return dropped;
}

}  // namespace strata::layerstore
