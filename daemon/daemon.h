// stratad's wiring: opens the store under its root, runs start-up recovery,
// and serves the gRPC services on a unix socket. Only this module reads
// configuration and puts the pieces together.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace strata::layerstore {
struct Store;
}
namespace strata::registry {
class HttpClient;
class RegistryClient;
class CriLayers;
class Puller;
class Pusher;
class RegistryServer;
}  // namespace strata::registry

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
  // Least severe log lines written: "debug", "info", "warn" or "error". Default: "info".
  std::string log_level = "info";
  // Serve Prometheus metrics over HTTP here ("host:port", path /metrics).
  // Default: empty, not served.
  std::string metrics_listen;
  // Directories Images.Import may read archives from by path. Default: none.
  std::vector<std::string> import_dirs;
  // Layers unpacked at once. Default: 0, one per CPU.
  int unpack_jobs = 0;
  // Per layer: bytes written to disk (holes excluded). Default: 64 GiB.
  int64_t max_layer_bytes = int64_t{64} << 30;
  // Per layer: tar entries. Default: 10,000,000.
  int64_t max_layer_entries = 10'000'000;
  // Garbage collection on a timer. Default: zero, never.
  absl::Duration gc_interval = absl::ZeroDuration();
  // Garbage collection a moment after deletions (images, snapshots, leases,
  // blobs). Default: off.
  bool gc_after_deletions = false;
  // Ingests idle this long are garbage. Default: 24 hours.
  absl::Duration ingest_max_age = absl::Hours(24);
  // Registry hosts in containerd's hosts.toml layout (DIR/<host>/hosts.toml).
  // Default: /etc/strata/certs.d (missing: every registry at its own address).
  std::string registry_hosts = "/etc/strata/certs.d";
  // Docker's config.json with registry credentials. Default: empty, anonymous.
  std::string registry_auth;
  // Layer blobs one pull downloads at once. Default: 3.
  int max_concurrent_downloads = 3;
  // A registry transfer slower than 1 KiB/s for this long has stalled: it
  // resumes, a few times at most however much it moved. Default: 30 s.
  absl::Duration registry_stall_timeout = absl::Seconds(30);
  // A layer blob not downloaded within this time is given up, however its
  // bytes trickle in. Zero: no limit. Default: 2 hours.
  absl::Duration registry_download_timeout = absl::Hours(2);
  // Serve the distribution API, read-only, to peers here ("host:port").
  // Default: empty, not served.
  std::string registry_listen;
  // What makes sized writable layers: "auto" (btrfs qgroups on a btrfs root,
  // else ext4 images on loop devices, if the host has them), "ext4-loop",
  // or "none". Default: "auto".
  std::string sized_backend = "auto";

  // Not a setting: the config file these came from ("" for none), for Info.
  std::string config_file;
};

class GcPolicy;
class Metrics;

// Sets the log facade's level from "debug", "info", "warn" or "error".
void ApplyLogLevel(const std::string& level);

class Daemon {
 public:
  // Opens the store and starts serving. Errors name what is wrong in one line.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);

  ~Daemon();

  // Stops accepting calls, waits for in-flight calls to finish, closes the store.
  void Shutdown();

  // Applies what can change while running (SIGHUP): log level, GC policy,
  // registry credentials (re-read even when the path is unchanged). Other
  // changes are logged as needing a restart. On error nothing changes.
  absl::Status Reload(const DaemonOptions& next);

 private:
  Daemon();
  absl::Status OpenStore();
  absl::Status OpenRegistryClient();
  absl::Status Serve();
  // Before a containerd Prepare: a CRI layer fetched through strata
  // (registry/cri_layers.h), held until the Prepare answers; null if none.
  std::shared_ptr<void> FetchCriLayer(const std::map<std::string, std::string>& labels);

  DaemonOptions options_;
  std::unique_ptr<layerstore::Store> store_;
  std::unique_ptr<registry::HttpClient> http_;
  std::unique_ptr<registry::RegistryClient> registry_;
  std::unique_ptr<registry::Puller> puller_;
  std::unique_ptr<registry::Pusher> pusher_;
  std::unique_ptr<registry::CriLayers> cri_layers_;
  std::unique_ptr<registry::RegistryServer> registry_server_;
  std::unique_ptr<GcPolicy> gc_policy_;
  std::unique_ptr<Metrics> metrics_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace strata::daemon
