// The daemon's unix socket: its directory, stale sockets, and permissions.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace strata::daemon {

// Creates the socket's parent directories, and removes a stale socket left by
// a daemon that died (nobody accepts on it). FailedPrecondition if a live
// daemon serves on it, or if the path exists and is not a socket.
absl::Status PrepareSocketPath(const std::string& path);

// The group id `group` names (a name or a number); InvalidArgument if none.
absl::StatusOr<gid_t> ResolveGroup(const std::string& group);

// chmod to `mode`, and chgrp to `group` when it is not empty (a name or number).
absl::Status SetSocketAccess(const std::string& path, mode_t mode, const std::string& group);

}  // namespace strata::daemon
