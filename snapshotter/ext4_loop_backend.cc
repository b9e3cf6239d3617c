#include "snapshotter/ext4_loop_backend.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/command.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "common/loop_device.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata::snapshotter {
namespace {

constexpr char kDynamicSuffix[] = "-d.img";
constexpr char kFixedSuffix[] = "-f.img";

// noinit_itable: the template's inode tables are never zeroed (a fresh
// filesystem needs no zeroing), so the kernel must not start doing it.
// discard (dynamic only): blocks a container frees become holes in the
// image again; a fixed image keeps every block it reserved.
const char* MountData(DiskKind kind) {
  return kind == DiskKind::kDynamic ? "noinit_itable,discard" : "noinit_itable";
}

absl::Status Unmount(const std::string& dir) {
  if (::umount2(dir.c_str(), 0) == 0 || errno == EINVAL) return absl::OkStatus();
  if (errno != EBUSY) return ErrnoToStatus(errno, absl::StrCat("unmount ", dir));
  // A container still has it open: detach now; the filesystem and its loop
  // device go when the last user does.
  if (::umount2(dir.c_str(), MNT_DETACH) == 0) return absl::OkStatus();
  return ErrnoToStatus(errno, absl::StrCat("unmount ", dir));
}

absl::Status UnlinkIfPresent(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  return ErrnoToStatus(errno, absl::StrCat("remove ", path));
}

}  // namespace

std::unique_ptr<Ext4LoopBackend> Ext4LoopBackend::Create(const Layout* layout,
                                                         std::string* missing) {
  std::string no_loop = LoopDevicesMissing();
  if (!no_loop.empty()) {
    *missing = absl::StrCat("loop devices (", no_loop, ")");
    return nullptr;
  }
  std::string mkfs = FindExecutable("mkfs.ext4");
  if (mkfs.empty()) {
    *missing = "mkfs.ext4 (Debian package e2fsprogs)";
    return nullptr;
  }
  return std::unique_ptr<Ext4LoopBackend>(new Ext4LoopBackend(layout, std::move(mkfs)));
}

Ext4LoopBackend::Ext4LoopBackend(const Layout* layout, std::string mkfs)
    : layout_(layout),
      templates_(layout->DisksDir() + "/templates", layout->TmpDir(), std::move(mkfs)) {}

std::string Ext4LoopBackend::ImagePath(uint64_t id, DiskKind kind) const {
  return absl::StrCat(layout_->DisksDir(), "/", Layout::IdName(id),
                      kind == DiskKind::kFixed ? kFixedSuffix : kDynamicSuffix);
}

std::optional<std::pair<std::string, DiskKind>> Ext4LoopBackend::FindImage(uint64_t id) const {
  for (DiskKind kind : {DiskKind::kDynamic, DiskKind::kFixed}) {
    std::string path = ImagePath(id, kind);
    if (PathExists(path)) return std::make_pair(path, kind);
  }
  return std::nullopt;
}

bool Ext4LoopBackend::Mounted(uint64_t id) const {
  struct stat dir, parent;
  if (::stat(layout_->SnapshotDir(id).c_str(), &dir) != 0) return false;
  if (::stat(layout_->SnapshotsDir().c_str(), &parent) != 0) return false;
  return dir.st_dev != parent.st_dev;
}

absl::Status Ext4LoopBackend::Make(uint64_t id, const SizeRequest& request) {
  STRATA_ASSIGN_OR_RETURN(std::string tmpl, templates_.For(request.bytes));
  std::string image = ImagePath(id, request.kind);
  // Synced: the record written after this must never outlive the image's
  // filesystem metadata in a power loss.
  STRATA_RETURN_IF_ERROR(CopyFileSparse(tmpl, image, /*sync=*/true));
  absl::Status made = [&]() -> absl::Status {
    if (request.kind == DiskKind::kFixed) {
      UniqueFd fd(::open(image.c_str(), O_RDWR | O_CLOEXEC));
      struct stat st;
      if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
        return ErrnoToStatus(errno, absl::StrCat("open ", image));
      }
      // Reserves every block on the host now; ENOSPC here is the point.
      int err = ::posix_fallocate(fd.get(), 0, st.st_size);
      if (err != 0) return ErrnoToStatus(err, absl::StrCat("reserve ", st.st_size, " bytes"));
    }
    return MountImage(id, image, request.kind);
  }();
  if (!made.ok()) (void)Release(id);
  return made;
}

absl::Status Ext4LoopBackend::MountImage(uint64_t id, const std::string& image, DiskKind kind) {
  // The pool's f/ and w/ would lie hidden under the mount; gone, a layer
  // whose filesystem is not mounted shows as missing, never as empty.
  for (const std::string& sub : {layout_->FilesDir(id), layout_->WorkDir(id)}) {
    if (::rmdir(sub.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, absl::StrCat("remove ", sub));
    }
  }
  STRATA_ASSIGN_OR_RETURN(LoopDevice loop, LoopDevice::Attach(image));
  std::string dir = layout_->SnapshotDir(id);
  if (::mount(loop.path().c_str(), dir.c_str(), "ext4", 0, MountData(kind)) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("mount ", image, " on ", dir));
  }
  return absl::OkStatus();  // the mount now holds the device; ours closes
}

absl::StatusOr<DiskUsage> Ext4LoopBackend::Measure(uint64_t id) {
  struct statfs st;
  std::string dir = layout_->SnapshotDir(id);
  if (::statfs(dir.c_str(), &st) != 0) return ErrnoToStatus(errno, absl::StrCat("statfs ", dir));
  DiskUsage usage;
  usage.bytes = static_cast<int64_t>(st.f_blocks - st.f_bfree) * static_cast<int64_t>(st.f_bsize);
  usage.inodes = static_cast<int64_t>(st.f_files - st.f_ffree);
  return usage;
}

absl::Status Ext4LoopBackend::Restore(uint64_t id) {
  auto image = FindImage(id);
  if (!image || Mounted(id)) return absl::OkStatus();
  STRATA_RETURN_IF_ERROR(MakeDirs(layout_->SnapshotDir(id), 0700));
  return MountImage(id, image->first, image->second);
}

absl::Status Ext4LoopBackend::Release(uint64_t id) {
  if (Mounted(id)) STRATA_RETURN_IF_ERROR(Unmount(layout_->SnapshotDir(id)));
  STRATA_RETURN_IF_ERROR(UnlinkIfPresent(ImagePath(id, DiskKind::kDynamic)));
  std::string fixed = ImagePath(id, DiskKind::kFixed);
  if (::unlink(fixed.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoToStatus(errno, absl::StrCat("remove ", fixed));
  }
  // ext4 lets freed blocks be used again only once the journal commits (up
  // to 5 s later): without this, a fixed layer made right after one is
  // removed would find its space still taken.
  return SyncFilesystem(layout_->DisksDir());
}

absl::StatusOr<std::set<uint64_t>> Ext4LoopBackend::Held() const {
  std::set<uint64_t> ids;
  if (!PathExists(layout_->DisksDir())) return ids;
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout_->DisksDir()));
  for (absl::string_view name : names) {
    if (!absl::ConsumeSuffix(&name, kDynamicSuffix) && !absl::ConsumeSuffix(&name, kFixedSuffix)) {
      continue;  // templates/
    }
    if (std::optional<uint64_t> id = Layout::ParseIdName(name)) ids.insert(*id);
  }
  return ids;
}

std::vector<SpaceBackend::Stray> Ext4LoopBackend::Strays(bool repair) {
  // A loop device on an image that is gone: its mount was detached lazily
  // while a process still held it, or something outside strata bound it.
  std::vector<Stray> strays;
  std::string prefix = layout_->DisksDir() + "/";
  for (const LoopBinding& b : ListLoopDevices()) {
    if (!absl::StartsWith(b.backing_file, prefix)) continue;
    if (!absl::EndsWith(b.backing_file, "(deleted)") && PathExists(b.backing_file)) continue;
    Stray stray{
        absl::StrCat("loop device ", b.device, " is bound to removed image ", b.backing_file)};
    if (repair) stray.repaired = DetachLoopDevice(b.device).ok();
    strays.push_back(std::move(stray));
  }
  return strays;
}

}  // namespace strata::snapshotter
