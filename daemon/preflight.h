// What the settings name on this host, checked before the daemon creates
// anything (a root, a socket): a start that will fail fails first, leaving
// no empty store behind, and names the setting at fault.
#pragma once

#include "absl/status/statusor.h"
#include "daemon/daemon.h"

namespace strata::daemon {

// InvalidArgument naming the setting: a registry.auth file that is missing
// or not a file, a socket_group that names no group.
absl::Status CheckSettingsOnHost(const DaemonOptions& options);

// FailedPrecondition naming the setting when a listen address
// (metrics_listen, registry.listen) cannot be bound now (in use, or not an
// address of this host).
absl::Status CheckListenAddresses(const DaemonOptions& options);

}  // namespace strata::daemon
