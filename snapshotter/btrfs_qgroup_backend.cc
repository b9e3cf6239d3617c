#include "snapshotter/btrfs_qgroup_backend.h"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata::snapshotter {
namespace {

absl::StatusOr<UniqueFd> OpenDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  return fd;
}

absl::Status Ioctl(int fd, unsigned long request, void* arg, const std::string& what) {
  if (::ioctl(fd, request, arg) != 0) return ErrnoToStatus(errno, what);
  return absl::OkStatus();
}

// Names snapshot directory `id` (in snapshots/) for a subvolume ioctl.
btrfs_ioctl_vol_args VolArgs(uint64_t id) {
  btrfs_ioctl_vol_args args;
  std::memset(&args, 0, sizeof(args));
  std::string name = Layout::IdName(id);  // base 36: far shorter than the field
  std::memcpy(args.name, name.data(), name.size());
  return args;
}

// The id of the subvolume holding open directory `fd`.
absl::StatusOr<uint64_t> SubvolumeId(int fd) {
  btrfs_ioctl_ino_lookup_args args;
  std::memset(&args, 0, sizeof(args));
  args.objectid = BTRFS_FIRST_FREE_OBJECTID;
  STRATA_RETURN_IF_ERROR(Ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args, "look up subvolume id"));
  return args.treeid;
}

// Calls fn(header, item) for each item of tree `tree` (0: the subvolume of
// `fd`) with keys in [min, max] of one type; stops when fn returns false.
template <typename Fn>
absl::Status SearchTree(int fd, uint64_t tree, uint32_t type, uint64_t min_objectid,
                        uint64_t max_objectid, uint64_t offset, Fn fn) {
  constexpr size_t kBuf = 256 << 10;
  std::vector<uint64_t> storage((sizeof(btrfs_ioctl_search_args_v2) + kBuf) / 8 + 1);
  auto* args = reinterpret_cast<btrfs_ioctl_search_args_v2*>(storage.data());
  uint64_t next_objectid = min_objectid;
  for (;;) {
    std::memset(&args->key, 0, sizeof(args->key));
    args->key.tree_id = tree;
    args->key.min_objectid = next_objectid;
    args->key.max_objectid = max_objectid;
    args->key.min_type = args->key.max_type = type;
    args->key.min_offset = offset == UINT64_MAX ? 0 : offset;
    args->key.max_offset = offset == UINT64_MAX ? UINT64_MAX : offset;
    args->key.max_transid = UINT64_MAX;
    args->key.nr_items = UINT32_MAX;
    args->buf_size = kBuf;
    STRATA_RETURN_IF_ERROR(Ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2, args, "search btrfs tree"));
    if (args->key.nr_items == 0) return absl::OkStatus();
    size_t pos = 0;
    uint64_t last = 0;
    for (uint32_t i = 0; i < args->key.nr_items; ++i) {
      btrfs_ioctl_search_header header;
      std::memcpy(&header, args->buf + pos, sizeof(header));
      pos += sizeof(header);
      if (header.type == type && !fn(header, args->buf + pos)) return absl::OkStatus();
      pos += header.len;
      last = header.objectid;
    }
    if (last == UINT64_MAX) return absl::OkStatus();
    next_objectid = last + 1;  // items of one type here have one per objectid
  }
}

}  // namespace

std::unique_ptr<BtrfsQgroupBackend> BtrfsQgroupBackend::Create(const Layout* layout,
                                                               std::string* missing) {
  struct statfs st;
  if (::statfs(layout->SnapshotsDir().c_str(), &st) != 0 ||
      st.f_type != static_cast<decltype(st.f_type)>(BTRFS_SUPER_MAGIC)) {
    *missing = "a store root on btrfs";
    return nullptr;
  }
  return std::unique_ptr<BtrfsQgroupBackend>(new BtrfsQgroupBackend(layout));
}

absl::Status BtrfsQgroupBackend::EnableQuotas() {
  MutexLock l(&mu_);
  if (quotas_on_) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, OpenDir(layout_->SnapshotsDir()));
  btrfs_ioctl_quota_ctl_args args;
  std::memset(&args, 0, sizeof(args));
  args.cmd = BTRFS_QUOTA_CTL_ENABLE;
  // Enabling quotas that are on already is a no-op for btrfs.
  STRATA_RETURN_IF_ERROR(Ioctl(fd.get(), BTRFS_IOC_QUOTA_CTL, &args, "enable btrfs quotas"));
  quotas_on_ = true;
  return absl::OkStatus();
}

bool BtrfsQgroupBackend::IsSubvolume(uint64_t id) const {
  struct stat st;
  return ::stat(layout_->SnapshotDir(id).c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         st.st_ino == BTRFS_FIRST_FREE_OBJECTID;
}

absl::Status BtrfsQgroupBackend::Make(uint64_t id, const SizeRequest& request) {
  STRATA_RETURN_IF_ERROR(EnableQuotas());
  // The pool's plain directory gives way to a subvolume of the same name.
  STRATA_RETURN_IF_ERROR(RemoveTree(layout_->SnapshotDir(id)));
  STRATA_ASSIGN_OR_RETURN(UniqueFd parent, OpenDir(layout_->SnapshotsDir()));
  DropStaleQgroups(parent.get());
  btrfs_ioctl_vol_args create = VolArgs(id);
  STRATA_RETURN_IF_ERROR(
      Ioctl(parent.get(), BTRFS_IOC_SUBVOL_CREATE, &create, "create btrfs subvolume"));
  absl::Status made = [&]() -> absl::Status {
    for (const auto& [path, mode] :
         {std::pair{layout_->FilesDir(id), 0755}, std::pair{layout_->WorkDir(id), 0700}}) {
      if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 ||
          ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
        return ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
      }
    }
    STRATA_ASSIGN_OR_RETURN(UniqueFd sub, OpenDir(layout_->SnapshotDir(id)));
    btrfs_ioctl_qgroup_limit_args limit;
    std::memset(&limit, 0, sizeof(limit));
    limit.qgroupid = 0;  // the subvolume `sub` is in
    limit.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
    limit.lim.max_rfer = static_cast<uint64_t>(request.bytes);
    return Ioctl(sub.get(), BTRFS_IOC_QGROUP_LIMIT, &limit, "set qgroup limit");
  }();
  if (!made.ok()) (void)Release(id);
  return made;
}

absl::StatusOr<DiskUsage> BtrfsQgroupBackend::Measure(uint64_t id) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd sub, OpenDir(layout_->SnapshotDir(id)));
  STRATA_ASSIGN_OR_RETURN(uint64_t subvol, SubvolumeId(sub.get()));
  // Qgroup counts are brought up to date when a transaction commits.
  if (::syncfs(sub.get()) != 0) return ErrnoToStatus(errno, "sync btrfs");
  DiskUsage usage;
  STRATA_RETURN_IF_ERROR(SearchTree(sub.get(), BTRFS_QUOTA_TREE_OBJECTID, BTRFS_QGROUP_INFO_KEY, 0,
                                    0, subvol,
                                    [&](const btrfs_ioctl_search_header&, const uint8_t* item) {
                                      btrfs_qgroup_info_item info;
                                      std::memcpy(&info, item, sizeof(info));
                                      usage.bytes = static_cast<int64_t>(info.rfer);
                                      return false;
                                    }));
  STRATA_RETURN_IF_ERROR(SearchTree(sub.get(), 0, BTRFS_INODE_ITEM_KEY, 0, UINT64_MAX, UINT64_MAX,
                                    [&](const btrfs_ioctl_search_header&, const uint8_t*) {
                                      ++usage.inodes;
                                      return true;
                                    }));
  return usage;
}

absl::Status BtrfsQgroupBackend::Release(uint64_t id) {
  if (!IsSubvolume(id)) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(UniqueFd parent, OpenDir(layout_->SnapshotsDir()));
  uint64_t subvol = 0;
  if (auto sub = OpenDir(layout_->SnapshotDir(id)); sub.ok()) {
    subvol = SubvolumeId(sub->get()).value_or(0);
  }
  btrfs_ioctl_vol_args destroy = VolArgs(id);
  STRATA_RETURN_IF_ERROR(
      Ioctl(parent.get(), BTRFS_IOC_SNAP_DESTROY, &destroy, "delete btrfs subvolume"));
  if (subvol != 0) {
    // Its qgroup outlives it in btrfs's tree until deleted, which btrfs
    // allows only once its cleaner has dropped the subvolume: later.
    MutexLock l(&mu_);
    stale_qgroups_.push_back(subvol);
  }
  DropStaleQgroups(parent.get());
  return absl::OkStatus();
}

void BtrfsQgroupBackend::DropStaleQgroups(int dir_fd) {
  MutexLock l(&mu_);
  std::vector<uint64_t> kept;
  for (uint64_t subvol : stale_qgroups_) {
    btrfs_ioctl_qgroup_create_args drop;
    std::memset(&drop, 0, sizeof(drop));
    drop.create = 0;
    drop.qgroupid = subvol;
    // EBUSY: not yet cleaned; ENOENT: gone already. A qgroup left when the
    // daemon stops is only an empty entry (btrfs qgroup clear-stale).
    if (::ioctl(dir_fd, BTRFS_IOC_QGROUP_CREATE, &drop) != 0 && errno == EBUSY) {
      kept.push_back(subvol);
    }
  }
  stale_qgroups_ = std::move(kept);
}

absl::StatusOr<std::set<uint64_t>> BtrfsQgroupBackend::Held() const {
  std::set<uint64_t> ids;
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(layout_->SnapshotsDir()));
  for (const std::string& name : names) {
    std::optional<uint64_t> id = Layout::ParseIdName(name);
    if (id && IsSubvolume(*id)) ids.insert(*id);
  }
  return ids;
}

}  // namespace strata::snapshotter
