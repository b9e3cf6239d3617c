#include "daemon/socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "common/unique_fd.h"

namespace strata::daemon {
namespace {

// True if something accepts connections on the socket at `path`.
bool SomeoneListens(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  return ::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

absl::Status PrepareSocketPath(const std::string& path) {
  struct sockaddr_un addr;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path \"", path, "\" must be 1 to ",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    STRATA_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0755));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoToStatus(errno, absl::StrCat("stat socket ", path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("socket path ", path, " exists and is not a socket"));
  }
  if (SomeoneListens(path)) {
    return absl::FailedPreconditionError(
        absl::StrCat("socket ", path, " is in use by another running daemon"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoToStatus(errno, absl::StrCat("remove stale socket ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<gid_t> ResolveGroup(const std::string& group) {
  uint32_t numeric;
  if (absl::SimpleAtoi(group, &numeric)) return static_cast<gid_t>(numeric);
  struct group* g = ::getgrnam(group.c_str());
  if (g == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown group ", group));
  return g->gr_gid;
}

absl::Status SetSocketAccess(const std::string& path, mode_t mode, const std::string& group) {
  if (!group.empty()) {
    STRATA_ASSIGN_OR_RETURN(gid_t gid, ResolveGroup(group));
    if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("chgrp socket ", path));
    }
  }
  if (::chmod(path.c_str(), mode) != 0) return ErrnoToStatus(errno, absl::StrCat("chmod ", path));
  return absl::OkStatus();
}

}  // namespace strata::daemon
