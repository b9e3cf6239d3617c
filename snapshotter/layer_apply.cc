#include "snapshotter/layer_apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata::snapshotter {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

// One application: the source layer's inodes already copied (for hard links).
struct Applier {
  ApplyOptions options;
  int root = -1;                                          // the destination's root
  std::map<std::pair<dev_t, ino_t>, std::string> linked;  // src inode -> path below root

  absl::Status Dir(int src, int dst, const std::string& rel);
  absl::Status Entry(int src, int dst, const std::string& name, const std::string& rel);
};

bool IsWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

std::vector<std::string> Names(int dir_fd, absl::Status* error) {
  std::vector<std::string> names;
  int fd = ::dup(dir_fd);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    if (fd >= 0) ::close(fd);
    *error = ErrnoToStatus(errno, "read directory");
    return names;
  }
  ::rewinddir(d);
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

// Copies xattrs (but overlay's own) from `src` to `dst`, both real fds.
absl::Status CopyXattrs(int src, int dst, const std::string& rel) {
  char names[65536];
  ssize_t n = ::flistxattr(src, names, sizeof(names));
  if (n < 0)
    return errno == ENOTSUP ? absl::OkStatus() : ErrnoToStatus(errno, "list xattrs " + rel);
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    std::string name = names + i;
    if (absl::StartsWith(name, "trusted.overlay.")) continue;
    char value[65536];
    ssize_t v = ::fgetxattr(src, name.c_str(), value, sizeof(value));
    if (v < 0) return ErrnoToStatus(errno, absl::StrCat("read xattr ", name, " of ", rel));
    if (::fsetxattr(dst, name.c_str(), value, static_cast<size_t>(v), 0) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("write xattr ", name, " of ", rel));
    }
  }
  return absl::OkStatus();
}

// Owner and mode of `st` onto `name` in `dst` (not following links). Before
// xattrs: a chown drops security.capability.
absl::Status SetOwnerAndMode(int dst, const std::string& name, const struct stat& st,
                             const std::string& rel) {
  if (::fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "chown " + rel);
  }
  // After the chown, which clears setuid and setgid bits.
  if (!S_ISLNK(st.st_mode) && ::fchmodat(dst, name.c_str(), st.st_mode & 07777, 0) != 0) {
    return ErrnoToStatus(errno, "chmod " + rel);
  }
  return absl::OkStatus();
}

absl::Status SetTimes(int dst, const std::string& name, const struct stat& st,
                      const std::string& rel) {
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "set times of " + rel);
  }
  return absl::OkStatus();
}

absl::Status CopyFile(int src_dir, int dst_dir, const std::string& name, const std::string& rel) {
  UniqueFd in(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return ErrnoToStatus(errno, "open " + rel);
  UniqueFd out(
      ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoToStatus(errno, "create " + rel);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return ErrnoToStatus(errno, "stat " + rel);
  if (::ftruncate(out.get(), st.st_size) != 0) return ErrnoToStatus(errno, "size " + rel);
  STRATA_RETURN_IF_ERROR(CopyDataExtents(in.get(), out.get(), st.st_size, rel));
  STRATA_RETURN_IF_ERROR(SetOwnerAndMode(dst_dir, name, st, rel));
  return CopyXattrs(in.get(), out.get(), rel);
}

absl::Status Applier::Entry(int src, int dst, const std::string& name, const std::string& rel) {
  struct stat st;
  if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "stat " + rel);
  }
  struct stat existing;
  bool exists = ::fstatat(dst, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  // A merged layer's file or whiteout here hides the lower chain's directory
  // of this name too (overlayfs stops merging at a non-directory).
  const bool over_non_dir = exists && !S_ISDIR(existing.st_mode);
  // Anything but a directory over a directory replaces what is there.
  if (exists && (!S_ISDIR(st.st_mode) || !S_ISDIR(existing.st_mode))) {
    STRATA_RETURN_IF_ERROR(RemoveTreeAt(dst, name));
    exists = false;
  }
  if (IsWhiteout(st)) {
    if (!options.keep_whiteouts) return absl::OkStatus();
    if (::mknodat(dst, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return ErrnoToStatus(errno, "whiteout " + rel);
    }
    if (options.whiteouts != nullptr) options.whiteouts->push_back(rel);
    return absl::OkStatus();
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd s(::openat(src, name.c_str(), kDirFlags));
    if (!s.valid()) return ErrnoToStatus(errno, "open " + rel);
    char opaque[2];
    bool is_opaque =
        ::fgetxattr(s.get(), kOpaqueXattr, opaque, sizeof(opaque)) == 1 && opaque[0] == 'y';
    if (exists && is_opaque) {
      STRATA_RETURN_IF_ERROR(RemoveTreeAt(dst, name));
      exists = false;
    }
    if (!exists && ::mkdirat(dst, name.c_str(), 0700) != 0) {
      return ErrnoToStatus(errno, "mkdir " + rel);
    }
    UniqueFd d(::openat(dst, name.c_str(), kDirFlags));
    if (!d.valid()) return ErrnoToStatus(errno, "open " + rel);
    STRATA_RETURN_IF_ERROR(Dir(s.get(), d.get(), rel));
    STRATA_RETURN_IF_ERROR(SetOwnerAndMode(dst, name, st, rel));
    STRATA_RETURN_IF_ERROR(CopyXattrs(s.get(), d.get(), rel));
    if (options.keep_whiteouts && (is_opaque || over_non_dir) &&
        ::fsetxattr(d.get(), kOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoToStatus(errno, "mark opaque " + rel);
    }
    return SetTimes(dst, name, st, rel);  // after its children: the mtime stays
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto it = linked.find({st.st_dev, st.st_ino});
    if (it != linked.end()) {
      if (::linkat(root, it->second.c_str(), dst, name.c_str(), 0) != 0) {
        return ErrnoToStatus(errno, "link " + rel);
      }
      return absl::OkStatus();
    }
  }
  if (S_ISREG(st.st_mode)) {
    STRATA_RETURN_IF_ERROR(CopyFile(src, dst, name, rel));  // owner, mode and xattrs too
    if (st.st_nlink > 1) {
      linked[{st.st_dev, st.st_ino}] = rel;
    }
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoToStatus(errno, "read link " + rel);
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), dst, name.c_str()) != 0) {
      return ErrnoToStatus(errno, "symlink " + rel);
    }
  } else if (::mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0) {
    return ErrnoToStatus(errno, "mknod " + rel);
  }
  if (!S_ISREG(st.st_mode)) STRATA_RETURN_IF_ERROR(SetOwnerAndMode(dst, name, st, rel));
  return SetTimes(dst, name, st, rel);
}

absl::Status Applier::Dir(int src, int dst, const std::string& rel) {
  absl::Status error;
  std::vector<std::string> names = Names(src, &error);
  STRATA_RETURN_IF_ERROR(error);
  for (const std::string& name : names) {
    STRATA_RETURN_IF_ERROR(Entry(src, dst, name, rel.empty() ? name : rel + "/" + name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyLayer(const std::string& layer_dir, const std::string& dst,
                        const ApplyOptions& options) {
  UniqueFd src(::open(layer_dir.c_str(), kDirFlags));
  if (!src.valid()) return ErrnoToStatus(errno, "open " + layer_dir);
  UniqueFd d(::open(dst.c_str(), kDirFlags));
  if (!d.valid()) return ErrnoToStatus(errno, "open " + dst);
  Applier applier;
  applier.options = options;
  applier.root = d.get();
  STRATA_RETURN_IF_ERROR(applier.Dir(src.get(), d.get(), ""));
  // The root takes the layer's owner and mode, as an overlay's root would
  // take its top layer's.
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return ErrnoToStatus(errno, "stat " + layer_dir);
  if (::fchown(d.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(d.get(), st.st_mode & 07777) != 0) {
    return ErrnoToStatus(errno, "set attributes of " + dst);
  }
  return absl::OkStatus();
}

}  // namespace strata::snapshotter
