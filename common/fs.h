// Filesystem helpers. Walks are fd-relative and never follow symlinks, so a
// hostile tree cannot redirect them outside the directory they were given.
// All functions are thread-safe (they share no state).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata {

// mkdir -p: creates `path` and missing parents with `mode`; existing dirs are fine.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Removes `path` and everything below it without following symlinks.
// A missing `path` is OK. Fails (and stops) on a mount point inside the tree.
absl::Status RemoveTree(const std::string& path);

// Removes `name` inside the open directory `dir_fd` (and everything below it,
// without following symlinks). A missing name is OK.
absl::Status RemoveTreeAt(int dir_fd, const std::string& name);

// Names in directory `path`, without "." and "..", in no particular order.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path);

// What a tree occupies: bytes of blocks allocated and inodes, each inode counted
// once however many hard links name it. The root directory itself counts.
struct DiskUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
};
absl::StatusOr<DiskUsage> MeasureDiskUsage(const std::string& path);

// lstat-based existence test.
bool PathExists(const std::string& path);

// syncfs(2) on the filesystem holding `path`: one call makes every write on it durable.
absl::Status SyncFilesystem(const std::string& path);

// Writes `contents` to `path.tmp` and renames it over `path`, so a reader sees
// the old or the new contents, never a mix. With `sync`, the file and its
// directory are fsynced too: the new contents survive power loss.
absl::Status WriteFileReplacing(const std::string& path, const std::string& contents, mode_t mode,
                                bool sync);
inline absl::Status WriteFileDurably(const std::string& path, const std::string& contents,
                                     mode_t mode = 0644) {
  return WriteFileReplacing(path, contents, mode, /*sync=*/true);
}

// Creates `dst` (which must not exist) as a copy of `src` that copies only
// the extents `src` holds data in: holes stay holes, so a sparse 10 GiB disk
// image costs the few MiB it uses. With `sync` the copy is fdatasynced. On
// error `dst` is removed.
absl::Status CopyFileSparse(const std::string& src, const std::string& dst, bool sync);

// Copies the extents `in` holds data in, of its first `size` bytes, to the
// same offsets of `out` (already `size` long): holes stay holes. Uses
// copy_file_range, and plain reads and writes where the kernel will not copy
// between the two files (another filesystem: EXDEV; or one that cannot).
// `what` names the file in errors.
absl::Status CopyDataExtents(int in, int out, off_t size, const std::string& what);

// A directory removed with everything in it when this goes out of scope,
// unless Release()d first: staging that must not outlive a failed call.
class ScopedDir {
 public:
  explicit ScopedDir(std::string path) : path_(std::move(path)) {}
  ~ScopedDir() {
    if (!path_.empty()) (void)RemoveTree(path_);  // best effort: tmp/ is emptied at start-up
  }
  ScopedDir(const ScopedDir&) = delete;
  ScopedDir& operator=(const ScopedDir&) = delete;
  const std::string& path() const { return path_; }
  // Keeps the directory; the caller owns it now.
  std::string Release() { return std::exchange(path_, ""); }

 private:
  std::string path_;
};

// Reads a whole (small) file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace strata
