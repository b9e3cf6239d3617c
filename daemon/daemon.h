// stratad's wiring: opens the store under its root, runs start-up recovery,
// and serves the gRPC services on a unix socket. Only this module reads
// configuration and puts the pieces together.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class Server;
}

namespace strata::meta {
class Db;
}
namespace strata::snapshotter {
class Snapshotter;
}
namespace strata::api {
class ContainerdSnapshotsService;
}

namespace strata::daemon {

struct DaemonOptions {
  // Store root. Default: /var/lib/strata.
  std::string root = "/var/lib/strata";
  // Unix socket path. Default: /run/strata/strata.sock.
  std::string socket = "/run/strata/strata.sock";
  // Socket permission bits. Default: 0660 (owner and group only).
  mode_t socket_mode = 0660;
  // Group owning the socket (name or number); empty keeps the daemon's. Default: empty.
  std::string socket_group;
};

class Daemon {
 public:
  // Opens the store and starts serving. Errors name what is wrong in one line.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();

  // Stops accepting calls, waits for in-flight calls to finish, closes the store.
  void Shutdown();

 private:
  Daemon() = default;

  DaemonOptions options_;
  std::unique_ptr<meta::Db> db_;
  std::unique_ptr<snapshotter::Snapshotter> snapshotter_;
  std::unique_ptr<api::ContainerdSnapshotsService> containerd_snapshots_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace strata::daemon
