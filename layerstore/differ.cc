#include "layerstore/differ.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/status_util.h"
#include "common/unique_fd.h"
#include "layerstore/archive_sink.h"
#include "layerstore/byte_sink.h"

namespace strata::layerstore {
namespace {

constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<struct archive_entry, EntryDeleter>;

struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

// Names in a directory, sorted bytewise: the same tree always gives the same tar.
absl::StatusOr<std::vector<std::string>> SortedNames(int dir_fd) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) return ErrnoToStatus(errno, "opendir");
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Xattrs worth keeping in a layer (overlay's own are bookkeeping of this host).
std::map<std::string, std::string> ReadXattrs(const std::string& proc_path) {
  std::map<std::string, std::string> out;
  char names[16384];
  ssize_t n = ::llistxattr(proc_path.c_str(), names, sizeof(names));
  for (ssize_t i = 0; i < n;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (absl::StartsWith(name, "trusted.overlay.") || name == "security.selinux") continue;
    char value[65536];
    ssize_t v = ::lgetxattr(proc_path.c_str(), name.c_str(), value, sizeof(value));
    if (v >= 0) out[name] = std::string(value, static_cast<size_t>(v));
  }
  return out;
}

class TarWriter {
 public:
  TarWriter(struct archive* a, const ArchiveSink* out) : a_(a), out_(out) {}

  absl::Status Walk(int dir_fd, const std::string& prefix);
  int64_t entries() const { return entries_; }

 private:
  absl::Status Header(struct archive_entry* e, const std::string& path) {
    ++entries_;
    if (archive_write_header(a_, e) != ARCHIVE_OK) {
      return out_->Failure(a_, "write tar header for " + path);
    }
    return absl::OkStatus();
  }
  Entry Base(const std::string& path, const struct stat& st, mode_t type) {
    Entry e(archive_entry_new());
    archive_entry_copy_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return e;
  }
  absl::Status Whiteout(const std::string& dir_prefix, const std::string& name,
                        const struct stat& st);
  absl::Status File(int dir_fd, const std::string& name, const std::string& path,
                    const struct stat& st, const std::string& proc);
  absl::Status Marker(const std::string& path, const struct stat& dir_st);

  struct archive* a_;
  const ArchiveSink* out_;
  int64_t entries_ = 0;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

absl::Status TarWriter::Marker(const std::string& path, const struct stat& dir_st) {
  struct stat st = dir_st;
  st.st_mode = S_IFREG | 0644;
  Entry e = Base(path, st, AE_IFREG);
  archive_entry_set_size(e.get(), 0);
  return Header(e.get(), path);
}

absl::Status TarWriter::Whiteout(const std::string& dir_prefix, const std::string& name,
                                 const struct stat& st) {
  return Marker(absl::StrCat(dir_prefix, ".wh.", name), st);
}

absl::Status TarWriter::File(int dir_fd, const std::string& name, const std::string& path,
                             const struct stat& st, const std::string& proc) {
  Entry e = Base(path, st, AE_IFREG);
  if (st.st_nlink > 1) {
    auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), path);
    if (!first) {
      archive_entry_copy_hardlink(e.get(), it->second.c_str());
      archive_entry_set_size(e.get(), 0);
      return Header(e.get(), path);
    }
  }
  for (const auto& [k, v] : ReadXattrs(proc)) {
    archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
  }
  archive_entry_set_size(e.get(), st.st_size);
  STRATA_RETURN_IF_ERROR(Header(e.get(), path));
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, "open " + path);
  std::vector<char> buf(1 << 20);
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n =
        ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return ErrnoToStatus(n < 0 ? errno : EIO, "read " + path + " (changed while committing?)");
    if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) != n) {
      return out_->Failure(a_, "write tar data for " + path);
    }
    left -= n;
  }
  return absl::OkStatus();
}

absl::Status TarWriter::Walk(int dir_fd, const std::string& prefix) {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(dir_fd));
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoToStatus(errno, "stat " + prefix + name);
    }
    std::string path = prefix + name;
    std::string proc = absl::StrCat("/proc/self/fd/", dir_fd, "/", name);
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      STRATA_RETURN_IF_ERROR(Whiteout(prefix, name, st));
    } else if (S_ISDIR(st.st_mode)) {
      Entry e = Base(path + "/", st, AE_IFDIR);
      std::map<std::string, std::string> xattrs = ReadXattrs(proc);
      for (const auto& [k, v] : xattrs)
        archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
      STRATA_RETURN_IF_ERROR(Header(e.get(), path));
      char opaque[4];
      ssize_t n = ::lgetxattr(proc.c_str(), kOpaqueXattr, opaque, sizeof(opaque));
      if (n == 1 && opaque[0] == 'y') STRATA_RETURN_IF_ERROR(Marker(path + "/.wh..wh..opq", st));
      UniqueFd child(
          ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) return ErrnoToStatus(errno, "open " + path);
      STRATA_RETURN_IF_ERROR(Walk(child.get(), path + "/"));
    } else if (S_ISREG(st.st_mode)) {
      STRATA_RETURN_IF_ERROR(File(dir_fd, name, path, st, proc));
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target, sizeof(target) - 1);
      if (n < 0) return ErrnoToStatus(errno, "readlink " + path);
      target[n] = '\0';
      Entry e = Base(path, st, AE_IFLNK);
      archive_entry_copy_symlink(e.get(), target);
      STRATA_RETURN_IF_ERROR(Header(e.get(), path));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      Entry e = Base(path, st, st.st_mode & S_IFMT);
      archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
      for (const auto& [k, v] : ReadXattrs(proc))
        archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
      STRATA_RETURN_IF_ERROR(Header(e.get(), path));
    }
    // Sockets have no place in a layer.
  }
  return absl::OkStatus();
}

}  // namespace

std::string LayerMediaType(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return media_type::kOciLayerGzip;
    case Compression::kZstd:
      return media_type::kOciLayerZstd;
    case Compression::kNone:
      break;
  }
  return media_type::kOciLayer;
}

absl::StatusOr<DiffResult> DiffUpperDir(const std::string& upper, Compression compression,
                                        ContentStore* content, const std::string& ref,
                                        const std::string& lease) {
  UniqueFd root(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ErrnoToStatus(errno, "open " + upper);
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Writer> w, content->OpenWriter(ref, lease));
  STRATA_RETURN_IF_ERROR(w->Truncate(0));
  IngestSink ingest(w.get());
  HashingSink blob_hash(&ingest);
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<ByteSink> compressor,
                          NewCompressor(compression, &blob_hash));
  HashingSink tar_hash(compressor.get());

  std::unique_ptr<struct archive, WriteDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 0);  // no record padding past the end marker
  ArchiveSink out(&tar_hash);
  STRATA_RETURN_IF_ERROR(out.Open(a.get()));
  TarWriter tw(a.get(), &out);
  STRATA_RETURN_IF_ERROR(tw.Walk(root.get(), ""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return out.Failure(a.get(), "finish tar");
  STRATA_RETURN_IF_ERROR(tar_hash.Close());
  DiffResult r;
  r.diff_id = tar_hash.Finish();
  r.tar_bytes = tar_hash.bytes();
  r.entries = tw.entries();
  r.blob.digest = blob_hash.Finish();
  r.blob.size = blob_hash.bytes();
  r.blob.media_type = LayerMediaType(compression);
  absl::StatusOr<BlobInfo> info = w->Commit(r.blob.size, r.blob.digest, {}, r.blob.media_type);
  if (!info.ok() && !absl::IsAlreadyExists(info.status())) return info.status();
  return r;
}

}  // namespace strata::layerstore
