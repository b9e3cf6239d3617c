#include "layerstore/tar_extractor.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "common/unique_fd.h"
#include "layerstore/libarchive_source.h"

namespace strata::layerstore {
namespace {

constexpr size_t kBlock = 4096;  // hole granularity
// Files at least this large start their writeback as soon as they are written.
constexpr int64_t kEarlyWritebackBytes = 64 * 1024;
constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";
constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";
const char kZeros[kBlock] = {};

bool IsZero(const char* p, size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, kZeros, n) == 0);
}

int OpenBeneath(int root, const std::string& rel, int flags) {
  struct open_how how;
  std::memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how)));
}

bool IsWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == 0; }

// Splits an entry name into components, refusing absolute paths and "..".
// "./a//b/" gives {"a", "b"}; "." or "./" gives {} (the root).
absl::StatusOr<std::vector<std::string>> SplitEntryPath(const std::string& raw) {
  if (!raw.empty() && raw[0] == '/') {
    return absl::InvalidArgumentError("absolute path: entries must be relative to the layer");
  }
  std::vector<std::string> comps;
  for (absl::string_view c : absl::StrSplit(raw, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") return absl::InvalidArgumentError("\"..\" in path escapes the layer");
    comps.emplace_back(c);
  }
  return comps;
}

class Extractor {
 public:
  Extractor(int root_fd, struct archive* a, const ArchiveReadContext* ctx,
            const ExtractLimits& limits)
      : root_(root_fd), a_(a), ctx_(ctx), limits_(limits) {}

  absl::Status Entry(struct archive_entry* e);
  absl::Status Finish();
  ExtractResult& result() { return result_; }

 private:
  struct Target {
    int parent_fd;
    std::string name;
  };

  absl::StatusOr<int> ParentDir(const std::vector<std::string>& comps, size_t n);
  absl::StatusOr<int> WalkCreating(const std::vector<std::string>& comps, size_t n);
  absl::StatusOr<bool> ClearFor(const Target& t, bool new_is_dir);
  absl::Status Whiteout(const Target& t);
  absl::Status Opaque(const std::vector<std::string>& dir_comps);
  absl::Status Directory(const Target* t, struct archive_entry* e, const std::string& path);
  absl::Status RegularFile(const Target& t, struct archive_entry* e, const std::string& path);
  absl::Status HardLink(const Target& t, struct archive_entry* e);
  absl::Status Special(const Target& t, struct archive_entry* e);
  absl::Status Xattrs(int fd, const std::string& proc_path, struct archive_entry* e);
  std::string ProcPath(const Target& t) const {
    return absl::StrCat("/proc/self/fd/", t.parent_fd, "/", t.name);
  }
  void InvalidateCache() {
    cached_path_.clear();
    cached_fd_.Reset();
  }

  int root_;
  struct archive* a_;
  const ArchiveReadContext* ctx_;
  const ExtractLimits& limits_;
  ExtractResult result_;
  std::string cached_path_;
  UniqueFd cached_fd_;
  std::vector<std::pair<std::string, struct timespec>> dir_times_;
  std::vector<char> zero_gap_;
};

absl::StatusOr<int> Extractor::ParentDir(const std::vector<std::string>& comps, size_t n) {
  if (n == 0) return root_;
  std::string rel = absl::StrJoin(comps.begin(), comps.begin() + static_cast<long>(n), "/");
  if (cached_fd_.valid() && rel == cached_path_) return cached_fd_.get();
  int fd = OpenBeneath(root_, rel, O_PATH | O_DIRECTORY);
  if (fd < 0) {
    STRATA_ASSIGN_OR_RETURN(fd, WalkCreating(comps, n));
  }
  cached_fd_.Reset(fd);
  cached_path_ = std::move(rel);
  return fd;
}

// Opens comps[0..n) one component at a time, creating missing directories and
// turning this layer's own whiteouts in the way into opaque directories.
absl::StatusOr<int> Extractor::WalkCreating(const std::vector<std::string>& comps, size_t n) {
  UniqueFd cur(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
  for (size_t i = 0; i < n; ++i) {
    const std::string& c = comps[i];
    int fd = ::openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
      struct stat st;
      bool exists = ::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
      bool whiteout = exists && IsWhiteout(st);
      if (exists && !whiteout) {
        return absl::InvalidArgumentError(absl::StrCat(
            "parent \"", c, "\" is ", S_ISLNK(st.st_mode) ? "a symlink" : "not a directory"));
      }
      if (whiteout && ::unlinkat(cur.get(), c.c_str(), 0) != 0) {
        return ErrnoToStatus(errno, "replace whiteout " + c);
      }
      if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoToStatus(errno, "mkdir " + c);
      }
      if (whiteout) {
        UniqueFd d(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d.valid() || ::fsetxattr(d.get(), kOpaqueXattr, "y", 1, 0) != 0) {
          return ErrnoToStatus(errno, "mark opaque " + c);
        }
      }
      fd = ::openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return ErrnoToStatus(errno, "open parent " + c);
    cur.Reset(fd);
  }
  return cur.Release();
}

// Makes room for a new node: nothing to do for a directory over a directory
// (they merge); anything else is replaced. Returns true if what was replaced
// was this layer's whiteout (a directory made there must be opaque).
absl::StatusOr<bool> Extractor::ClearFor(const Target& t, bool new_is_dir) {
  struct stat st;
  if (::fstatat(t.parent_fd, t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoToStatus(errno, "stat");
  }
  if (S_ISDIR(st.st_mode) && new_is_dir) return false;
  bool whiteout = IsWhiteout(st);
  if (S_ISDIR(st.st_mode)) InvalidateCache();
  STRATA_RETURN_IF_ERROR(RemoveTreeAt(t.parent_fd, t.name));
  return whiteout;
}

absl::Status Extractor::Whiteout(const Target& t) {
  struct stat st;
  if (::fstatat(t.parent_fd, t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    // This layer has the path too: it stays. A directory must then hide what
    // lower layers have below it.
    if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
    UniqueFd d(
        ::openat(t.parent_fd, t.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d.valid() || ::fsetxattr(d.get(), kOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoToStatus(errno, "mark opaque");
    }
    return absl::OkStatus();
  }
  if (::mknodat(t.parent_fd, t.name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return ErrnoToStatus(errno, "create whiteout");
  }
  return absl::OkStatus();
}

absl::Status Extractor::Opaque(const std::vector<std::string>& dir_comps) {
  STRATA_ASSIGN_OR_RETURN(int parent, ParentDir(dir_comps, dir_comps.size()));
  UniqueFd d(::openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid() || ::fsetxattr(d.get(), kOpaqueXattr, "y", 1, 0) != 0) {
    return ErrnoToStatus(errno, "mark opaque");
  }
  return absl::OkStatus();
}

absl::Status Extractor::Xattrs(int fd, const std::string& proc_path, struct archive_entry* e) {
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    absl::string_view n(name);
    // overlayfs reads trusted.overlay.* as instructions (opaque, redirect,
    // metacopy): a layer must never be able to set them.
    bool allowed = (absl::StartsWith(n, "user.") || absl::StartsWith(n, "trusted.") ||
                    n == "security.capability") &&
                   !absl::StartsWith(n, "trusted.overlay.");
    if (!allowed) continue;
    int rc = fd >= 0 ? ::fsetxattr(fd, name, value, size, 0)
                     : ::lsetxattr(proc_path.c_str(), name, value, size, 0);
    if (rc != 0) return ErrnoToStatus(errno, absl::StrCat("set xattr ", name));
  }
  return absl::OkStatus();
}

absl::Status Extractor::Directory(const Target* t, struct archive_entry* e,
                                  const std::string& path) {
  UniqueFd d;
  if (t == nullptr) {
    d.Reset(::openat(root_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  } else {
    STRATA_ASSIGN_OR_RETURN(bool over_whiteout, ClearFor(*t, true));
    if (::mkdirat(t->parent_fd, t->name.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, "mkdir");
    }
    d.Reset(
        ::openat(t->parent_fd, t->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.valid() && over_whiteout && ::fsetxattr(d.get(), kOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoToStatus(errno, "mark opaque");
    }
  }
  if (!d.valid()) return ErrnoToStatus(errno, "open directory");
  if (::fchown(d.get(), static_cast<uid_t>(archive_entry_uid(e)),
               static_cast<gid_t>(archive_entry_gid(e))) != 0 ||
      ::fchmod(d.get(), archive_entry_perm(e)) != 0) {
    return ErrnoToStatus(errno, "set owner and mode");
  }
  STRATA_RETURN_IF_ERROR(Xattrs(d.get(), "", e));
  // Directory times are set last: creating children would change them.
  dir_times_.emplace_back(path, timespec{archive_entry_mtime(e), archive_entry_mtime_nsec(e)});
  return absl::OkStatus();
}

absl::Status Extractor::RegularFile(const Target& t, struct archive_entry* e,
                                    const std::string& path) {
  int64_t size = archive_entry_size(e);
  if (size < 0 || size > limits_.max_stream_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("file size ", size, " exceeds the limit"));
  }
  STRATA_RETURN_IF_ERROR(ClearFor(t, false).status());
  UniqueFd fd(::openat(t.parent_fd, t.name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoToStatus(errno, "create file");
  uint32_t crc = 0;
  int64_t end = 0;
  const void* buf;
  size_t len;
  la_int64_t offset;
  while (true) {
    int rc = archive_read_data_block(a_, &buf, &len, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return ArchiveError(a_, *ctx_, "malformed tar");
    if (offset > end) {  // a sparse gap: zeros, left as a hole
      for (int64_t gap = offset - end; gap > 0;) {
        size_t k = static_cast<size_t>(std::min<int64_t>(gap, kBlock));
        crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(kZeros), k);
        gap -= static_cast<int64_t>(k);
      }
    }
    const char* p = static_cast<const char*>(buf);
    crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(p), len);
    // Split at block boundaries of the file; write runs of non-zero blocks.
    size_t i = 0;
    while (i < len) {
      int64_t pos = offset + static_cast<int64_t>(i);
      size_t chunk = std::min(len - i, kBlock - static_cast<size_t>(pos % kBlock));
      if (IsZero(p + i, chunk)) {
        i += chunk;
        continue;
      }
      size_t run = chunk;
      while (i + run < len) {
        size_t next = std::min(len - i - run, kBlock);
        if (IsZero(p + i + run, next)) break;
        run += next;
      }
      result_.written_bytes += static_cast<int64_t>(run);
      if (result_.written_bytes > limits_.max_written_bytes) {
        return absl::ResourceExhaustedError(absl::StrCat("layer writes more than the limit of ",
                                                         limits_.max_written_bytes, " bytes"));
      }
      for (size_t done = 0; done < run;) {
        ssize_t w = ::pwrite(fd.get(), p + i + done, run - done, pos + static_cast<int64_t>(done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ErrnoToStatus(errno, "write file");
        done += static_cast<size_t>(w);
      }
      i += run;
    }
    end = offset + static_cast<int64_t>(len);
  }
  for (int64_t gap = size - end; gap > 0;) {  // trailing sparse gap
    size_t k = static_cast<size_t>(std::min<int64_t>(gap, kBlock));
    crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(kZeros), k);
    gap -= static_cast<int64_t>(k);
  }
  if (::ftruncate(fd.get(), size) != 0) return ErrnoToStatus(errno, "set file size");
  // Start writing the data back now (it does not wait): the one syncfs that
  // makes the layer durable then finds little left to flush, so disk writes
  // overlap extraction instead of following it. Errors surface at syncfs.
  if (result_.written_bytes > 0 && size >= kEarlyWritebackBytes) {
    ::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  // Owner before mode (chown clears setuid) and before xattrs (it clears
  // security.capability too).
  if (::fchown(fd.get(), static_cast<uid_t>(archive_entry_uid(e)),
               static_cast<gid_t>(archive_entry_gid(e))) != 0 ||
      ::fchmod(fd.get(), archive_entry_perm(e)) != 0) {
    return ErrnoToStatus(errno, "set owner and mode");
  }
  STRATA_RETURN_IF_ERROR(Xattrs(fd.get(), "", e));
  struct timespec times[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                              {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (::futimens(fd.get(), times) != 0) return ErrnoToStatus(errno, "set times");
  result_.logical_bytes += size;
  result_.files.push_back({path, size, crc});
  return absl::OkStatus();
}

absl::Status Extractor::HardLink(const Target& t, struct archive_entry* e) {
  std::string raw = archive_entry_hardlink(e);
  absl::StatusOr<std::vector<std::string>> comps = SplitEntryPath(raw);
  if (!comps.ok() || comps->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("hard link to \"", raw, "\" leaves the layer"));
  }
  std::string target_rel = absl::StrJoin(*comps, "/");
  std::string parent_rel = absl::StrJoin(comps->begin(), comps->end() - 1, "/");
  UniqueFd tparent(parent_rel.empty() ? ::fcntl(root_, F_DUPFD_CLOEXEC, 0)
                                      : OpenBeneath(root_, parent_rel, O_PATH | O_DIRECTORY));
  struct stat st;
  if (!tparent.valid() ||
      ::fstatat(tparent.get(), comps->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hard link to \"", raw, "\": target is not an earlier entry of this layer"));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("hard link to directory \"", raw, "\""));
  }
  if (::fstatat(t.parent_fd, t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    struct stat tst;
    ::fstatat(tparent.get(), comps->back().c_str(), &tst, AT_SYMLINK_NOFOLLOW);
    if (st.st_ino == tst.st_ino && st.st_dev == tst.st_dev)
      return absl::OkStatus();  // already linked
  }
  STRATA_RETURN_IF_ERROR(ClearFor(t, false).status());
  if (::linkat(tparent.get(), comps->back().c_str(), t.parent_fd, t.name.c_str(), 0) != 0) {
    return ErrnoToStatus(errno, "hard link");
  }
  return absl::OkStatus();
}

absl::Status Extractor::Special(const Target& t, struct archive_entry* e) {
  STRATA_RETURN_IF_ERROR(ClearFor(t, false).status());
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(e);
    if (target == nullptr) return absl::InvalidArgumentError("symlink without a usable target");
    if (::symlinkat(target, t.parent_fd, t.name.c_str()) != 0) {
      return ErrnoToStatus(errno, "create symlink");
    }
  } else {
    dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (type == AE_IFIFO) dev = 0;
    if (::mknodat(t.parent_fd, t.name.c_str(), type | 0600, dev) != 0) {
      return ErrnoToStatus(errno, "create special file");
    }
  }
  if (::fchownat(t.parent_fd, t.name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "set owner");
  }
  // The node was just made by us and is not a symlink, so following is safe.
  if (type != AE_IFLNK && ::fchmodat(t.parent_fd, t.name.c_str(), archive_entry_perm(e), 0) != 0) {
    return ErrnoToStatus(errno, "set mode");
  }
  STRATA_RETURN_IF_ERROR(Xattrs(-1, ProcPath(t), e));
  struct timespec times[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                              {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (::utimensat(t.parent_fd, t.name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoToStatus(errno, "set times");
  }
  return absl::OkStatus();
}

absl::Status Extractor::Entry(struct archive_entry* e) {
  if (++result_.entries > limits_.max_entries) {
    return absl::ResourceExhaustedError(
        absl::StrCat("layer has more than the limit of ", limits_.max_entries, " entries"));
  }
  // libarchive gives no name when a header has none or one it cannot
  // convert; such an entry is refused, not dereferenced (found by fuzzing).
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) return absl::InvalidArgumentError("entry without a usable name");
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> comps, SplitEntryPath(name));
  mode_t type = archive_entry_filetype(e);
  bool is_link = archive_entry_hardlink(e) != nullptr;
  if (comps.empty()) {
    if (type != AE_IFDIR || is_link)
      return absl::InvalidArgumentError("the root must be a directory");
    return Directory(nullptr, e, "");
  }
  const std::string& base = comps.back();
  if (base == kOpaqueMarker) {
    comps.pop_back();
    return Opaque(comps);
  }
  if (absl::StartsWith(base, kWhiteoutPrefix)) {
    std::string name = base.substr(sizeof(kWhiteoutPrefix) - 1);
    if (name.empty() || name == "." || name == "..") {
      return absl::InvalidArgumentError("whiteout of an invalid name");
    }
    STRATA_ASSIGN_OR_RETURN(int parent, ParentDir(comps, comps.size() - 1));
    STRATA_RETURN_IF_ERROR(Whiteout({parent, name}));
    comps.back() = name;
    result_.whiteouts.push_back(absl::StrJoin(comps, "/"));
    return absl::OkStatus();
  }
  STRATA_ASSIGN_OR_RETURN(int parent, ParentDir(comps, comps.size() - 1));
  Target t{parent, base};
  std::string path = absl::StrJoin(comps, "/");
  if (is_link) return HardLink(t, e);
  switch (type) {
    case AE_IFDIR:
      return Directory(&t, e, path);
    case AE_IFREG:
      return RegularFile(t, e, path);
    case AE_IFLNK:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return Special(t, e);
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported entry type ", type));
  }
}

absl::Status Extractor::Finish() {
  InvalidateCache();
  for (const auto& [path, mtime] : dir_times_) {
    UniqueFd fd(path.empty() ? ::fcntl(root_, F_DUPFD_CLOEXEC, 0)
                             : OpenBeneath(root_, path, O_PATH | O_DIRECTORY));
    if (!fd.valid()) continue;  // replaced by a later entry
    struct timespec times[2] = {mtime, mtime};
    if (::utimensat(fd.get(), "", times, AT_EMPTY_PATH) != 0) {
      return ErrnoToStatus(errno, "set directory times of " + path);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ExtractResult> ExtractLayer(ByteSource* tar, const std::string& root,
                                           const ExtractLimits& limits) {
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoToStatus(errno, "open layer root " + root);
  ArchiveReadContext ctx;
  ctx.src = tar;
  ctx.max = limits.max_stream_bytes;
  STRATA_ASSIGN_OR_RETURN(ArchiveReader a, OpenTarReader(&ctx));
  Extractor x(root_fd.get(), a.get(), &ctx, limits);
  while (true) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return ArchiveError(a.get(), ctx, "malformed tar");
    const char* name = archive_entry_pathname(e);
    absl::Status s = x.Entry(e);
    if (!ctx.error.ok()) return ctx.error;
    if (!s.ok()) return Annotate(s, absl::StrCat("entry \"", name ? name : "", "\""));
  }
  STRATA_RETURN_IF_ERROR(x.Finish());
  return std::move(x.result());
}

}  // namespace strata::layerstore
