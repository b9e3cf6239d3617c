#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata {
namespace {

constexpr int kDirOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Calls fn(name, d_type) for each entry of the open directory `dir_fd`.
// The fd is duplicated so the caller keeps ownership of its own.
template <typename Fn>
absl::Status ForEachEntry(int dir_fd, const std::string& where, Fn fn) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoToStatus(errno, absl::StrCat("dup ", where));
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return ErrnoToStatus(err, absl::StrCat("opendir ", where));
  }
  ::rewinddir(dir);
  absl::Status status;
  while (status.ok()) {
    errno = 0;
    struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) status = ErrnoToStatus(errno, absl::StrCat("readdir ", where));
      break;
    }
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    status = fn(name, entry->d_type);
  }
  ::closedir(dir);
  return status;
}

absl::Status RemoveChildren(int dir_fd, const std::string& where) {
  // Collect first: unlinking while readdir iterates may skip entries.
  std::vector<std::pair<std::string, unsigned char>> entries;
  STRATA_RETURN_IF_ERROR(ForEachEntry(dir_fd, where, [&](const std::string& n, unsigned char t) {
    entries.emplace_back(n, t);
    return absl::OkStatus();
  }));
  for (const auto& [name, type] : entries) {
    std::string child = absl::StrCat(where, "/", name);
    bool is_dir = type == DT_DIR;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoToStatus(errno, absl::StrCat("stat ", child));
      }
      is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      UniqueFd child_fd(::openat(dir_fd, name.c_str(), kDirOpenFlags));
      if (!child_fd.valid() && errno == ENOENT) continue;  // removed by someone else meanwhile
      if (!child_fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", child));
      STRATA_RETURN_IF_ERROR(RemoveChildren(child_fd.get(), child));
    }
    if (::unlinkat(dir_fd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, absl::StrCat("remove ", child));
    }
  }
  return absl::OkStatus();
}

struct UsageWalker {
  std::set<std::pair<dev_t, ino_t>> seen;
  DiskUsage usage;

  void Count(const struct stat& st) {
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.emplace(st.st_dev, st.st_ino).second) {
      return;
    }
    usage.inodes++;
    usage.bytes += static_cast<int64_t>(st.st_blocks) * 512;
  }

  absl::Status Walk(int dir_fd, const std::string& where) {
    return ForEachEntry(dir_fd, where, [&](const std::string& name, unsigned char) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return absl::OkStatus();  // removed while we walk
        return ErrnoToStatus(errno, absl::StrCat("stat ", where, "/", name));
      }
      Count(st);
      if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
      UniqueFd child(::openat(dir_fd, name.c_str(), kDirOpenFlags));
      if (!child.valid()) {
        if (errno == ENOENT) return absl::OkStatus();
        return ErrnoToStatus(errno, absl::StrCat("open ", where, "/", name));
      }
      return Walk(child.get(), absl::StrCat(where, "/", name));
    });
  }
};

}  // namespace

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty() || partial == "/") continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, absl::StrCat("mkdir ", partial));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), kDirOpenFlags));
    if (!fd.valid() && errno == ENOENT) return absl::OkStatus();
    if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
    STRATA_RETURN_IF_ERROR(RemoveChildren(fd.get(), path));
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, absl::StrCat("rmdir ", path));
    }
    return absl::OkStatus();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("unlink ", path));
  }
  return absl::OkStatus();
}

absl::Status RemoveTreeAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoToStatus(errno, absl::StrCat("stat ", name));
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::openat(dir_fd, name.c_str(), kDirOpenFlags));
    if (!fd.valid() && errno == ENOENT) return absl::OkStatus();
    if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", name));
    STRATA_RETURN_IF_ERROR(RemoveChildren(fd.get(), name));
  }
  if (::unlinkat(dir_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
      errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("remove ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), kDirOpenFlags));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::vector<std::string> names;
  STRATA_RETURN_IF_ERROR(ForEachEntry(fd.get(), path, [&](const std::string& n, unsigned char) {
    names.push_back(n);
    return absl::OkStatus();
  }));
  return names;
}

absl::StatusOr<DiskUsage> MeasureDiskUsage(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), kDirOpenFlags));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  UsageWalker walker;
  walker.Count(st);
  STRATA_RETURN_IF_ERROR(walker.Walk(fd.get(), path));
  return walker.usage;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

absl::Status SyncFilesystem(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  if (::syncfs(fd.get()) != 0) return ErrnoToStatus(errno, absl::StrCat("syncfs ", path));
  return absl::OkStatus();
}

absl::Status WriteFileReplacing(const std::string& path, const std::string& contents, mode_t mode,
                                bool sync) {
  std::string tmp = absl::StrCat(path, ".tmp");
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("create ", tmp));
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, absl::StrCat("write ", tmp));
    done += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) return ErrnoToStatus(errno, absl::StrCat("fsync ", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("rename ", tmp));
  }
  if (!sync) return absl::OkStatus();
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  UniqueFd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.valid()) ::fsync(dir_fd.get());
  return absl::OkStatus();
}

namespace {

// Through user space, for files the kernel will not copy between.
absl::Status CopyRangeByReading(int src, int dst, off_t from, off_t to, const std::string& what) {
  std::vector<char> buf(static_cast<size_t>(std::min<off_t>(to - from, 1 << 20)));
  off_t pos = from;
  while (pos < to) {
    ssize_t n =
        ::pread(src, buf.data(), static_cast<size_t>(std::min<off_t>(to - pos, buf.size())), pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, absl::StrCat("read ", what));
    if (n == 0) break;  // the source shrank
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::pwrite(dst, buf.data() + done, static_cast<size_t>(n - done), pos + done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoToStatus(errno, absl::StrCat("write ", what));
      done += w;
    }
    pos += n;
  }
  return absl::OkStatus();
}

absl::Status CopyRange(int src, int dst, off_t from, off_t to, const std::string& what) {
  off_t in = from, out = from;
  while (in < to) {
    ssize_t n = ::copy_file_range(src, &in, dst, &out, static_cast<size_t>(to - in), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
      // Across filesystems (a sized layer's own ext4 to the store's) or on
      // one that cannot: the offsets have not moved past what was copied.
      return CopyRangeByReading(src, dst, in, to, what);
    }
    if (n < 0) return ErrnoToStatus(errno, absl::StrCat("copy ", what));
    if (n == 0) break;  // the source shrank
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyDataExtents(int in, int out, off_t size, const std::string& what) {
  off_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole remains
    if (data < 0) return ErrnoToStatus(errno, absl::StrCat("seek data in ", what));
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) return ErrnoToStatus(errno, absl::StrCat("seek hole in ", what));
    STRATA_RETURN_IF_ERROR(CopyRange(in, out, data, std::min(hole, size), what));
    pos = hole;
  }
  return absl::OkStatus();
}

absl::Status CopyFileSparse(const std::string& src, const std::string& dst, bool sync) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", src));
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("stat ", src));
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoToStatus(errno, absl::StrCat("create ", dst));
  absl::Status copied = [&]() -> absl::Status {
    if (::ftruncate(out.get(), st.st_size) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("size ", dst));
    }
    STRATA_RETURN_IF_ERROR(CopyDataExtents(in.get(), out.get(), st.st_size, src));
    if (sync && ::fdatasync(out.get()) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("sync ", dst));
    }
    return absl::OkStatus();
  }();
  if (!copied.ok()) ::unlink(dst.c_str());  // a partial copy is of no use to anyone
  return copied;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace strata
