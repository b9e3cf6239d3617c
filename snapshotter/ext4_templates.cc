#include "snapshotter/ext4_templates.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/command.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/loop_device.h"
#include "common/status_util.h"

namespace strata::snapshotter {
namespace {

constexpr int64_t kMiB = 1 << 20;
// Free space may exceed the request by less than this (the promise:
// ENOSPC within 1 MiB of the limit).
constexpr int64_t kSlack = kMiB;
constexpr int kMaxFormats = 8;

int64_t RoundUp(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

}  // namespace

Ext4Templates::Ext4Templates(std::string dir, std::string staging_dir, std::string mkfs)
    : dir_(std::move(dir)), staging_dir_(std::move(staging_dir)), mkfs_(std::move(mkfs)) {}

absl::StatusOr<std::string> Ext4Templates::For(int64_t bytes) {
  MutexLock l(&mu_);
  auto it = made_.find(bytes);
  if (it != made_.end()) return it->second;
  std::string path = absl::StrCat(dir_, "/", bytes, ".img");
  if (!PathExists(path)) {
    STRATA_RETURN_IF_ERROR(MakeDirs(dir_, 0700));
    STRATA_ASSIGN_OR_RETURN(std::string staged, Make(bytes));
    if (::rename(staged.c_str(), path.c_str()) != 0) {
      absl::Status s = ErrnoToStatus(errno, absl::StrCat("rename ", staged));
      ::unlink(staged.c_str());
      return s;
    }
  }
  made_.emplace(bytes, path);
  return path;
}

absl::StatusOr<std::string> Ext4Templates::Make(int64_t bytes) {
  std::string path = absl::StrCat(staging_dir_, "/ext4-template-", bytes, ".img");
  // First guess: ext4 keeps about 3% for itself at the default inode ratio.
  int64_t image_bytes = RoundUp(bytes + bytes / 32 + 8 * kMiB, kMiB);
  for (int attempt = 0; attempt < kMaxFormats; ++attempt) {
    ::unlink(path.c_str());
    STRATA_ASSIGN_OR_RETURN(int64_t free_bytes, FormatAndMeasure(path, image_bytes));
    int64_t gap = bytes - free_bytes;  // > 0: too small; < -kSlack: too large
    if (gap <= 0 && gap > -kSlack) {
      log::Info("made ext4 template", {{"limit_bytes", std::to_string(bytes)},
                                       {"image_bytes", std::to_string(image_bytes)},
                                       {"free_bytes", std::to_string(free_bytes)}});
      return path;
    }
    // Metadata grows with the image, so overshoot a growing step a little.
    int64_t step = gap > 0 ? gap + gap / 32 + 4096 : gap + kSlack / 2;
    image_bytes = RoundUp(image_bytes + step, 4096);
  }
  ::unlink(path.c_str());
  return absl::InternalError(
      absl::StrCat("could not size an ext4 image to hold ", bytes, " bytes"));
}

absl::StatusOr<int64_t> Ext4Templates::FormatAndMeasure(const std::string& path,
                                                        int64_t image_bytes) {
  ScopedDir content(absl::StrCat(path, ".d"));
  STRATA_RETURN_IF_ERROR(MakeDirs(content.path() + "/f", 0755));
  STRATA_RETURN_IF_ERROR(MakeDirs(content.path() + "/w", 0700));
  // MakeDirs applies the umask; the modes must not depend on it.
  if (::chmod((content.path() + "/f").c_str(), 0755) != 0 ||
      ::chmod((content.path() + "/w").c_str(), 0700) != 0) {
    return ErrnoToStatus(errno, "chmod template directories");
  }
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("create ", path));
    if (::ftruncate(fd.get(), image_bytes) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("size ", path));
    }
  }
  // -m 0: no blocks kept for root (containers run as root anyway); lazy
  // inode tables and journal: nothing zeroed, so the image stays sparse (the
  // mount's noinit_itable keeps the kernel from zeroing them later).
  STRATA_RETURN_IF_ERROR(
      RunCommand({mkfs_, "-q", "-F", "-b", "4096", "-m", "0", "-E",
                  "lazy_itable_init=1,lazy_journal_init=1,nodiscard", "-d", content.path(), path}));
  return FreeBytes(path);
}

absl::StatusOr<int64_t> Ext4Templates::FreeBytes(const std::string& path) {
  ScopedDir mnt(absl::StrCat(path, ".m"));
  STRATA_RETURN_IF_ERROR(MakeDirs(mnt.path(), 0700));
  STRATA_ASSIGN_OR_RETURN(LoopDevice loop, LoopDevice::Attach(path));
  if (::mount(loop.path().c_str(), mnt.path().c_str(), "ext4", MS_RDONLY, "noload") != 0) {
    return ErrnoToStatus(errno, absl::StrCat("mount ", path));
  }
  struct statfs st;
  int rc = ::statfs(mnt.path().c_str(), &st);
  int err = errno;
  ::umount2(mnt.path().c_str(), 0);  // read-only and unused: cannot be busy
  if (rc != 0) return ErrnoToStatus(err, absl::StrCat("statfs ", path));
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_bsize);
}

}  // namespace strata::snapshotter
