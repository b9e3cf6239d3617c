// stratad: the strata daemon. Flags are a contract (DESIGN.md, last section).
#include <signal.h>
#include <sys/stat.h>

#include <clocale>
#include <cstdio>
#include <string>
#include <tuple>

#include "CLI/CLI.hpp"
#include "common/log.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  strata::daemon::DaemonOptions options;
  std::string mode = "0660";
  std::string log_level = "info";
  CLI::App app{"stratad: container image layer store daemon"};
  app.add_option("--root", options.root, "store root directory")->capture_default_str();
  app.add_option("--socket", options.socket, "unix socket to serve on")->capture_default_str();
  app.add_option("--socket-mode", mode, "socket permission bits (octal)")->capture_default_str();
  app.add_option("--socket-group", options.socket_group, "group owning the socket");
  app.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--import-dir", options.import_dirs,
                 "directory clients may import archives from by path (repeatable)");
  app.add_option("--unpack-jobs", options.unpack_jobs, "layers unpacked at once (0: one per CPU)")
      ->capture_default_str();
  app.add_option("--max-layer-bytes", options.max_layer_bytes,
                 "bytes one layer may write to disk (zero runs are holes and do not count)")
      ->capture_default_str();
  app.add_option("--max-layer-entries", options.max_layer_entries, "entries one layer may have")
      ->capture_default_str();
  std::string gc_interval = "0";
  std::string ingest_max_age = "24h";
  app.add_option("--gc-interval", gc_interval,
                 "collect garbage this often, e.g. 30m or 6h (0: never on a timer)")
      ->capture_default_str();
  app.add_flag("--gc-after-deletions", options.gc_after_deletions,
               "collect garbage a moment after images, snapshots, leases or blobs are deleted");
  app.add_option("--ingest-max-age", ingest_max_age,
                 "an ingest idle this long is garbage, e.g. 24h")
      ->capture_default_str();
  app.add_option("--registry-hosts", options.registry_hosts,
                 "registry hosts, containerd's hosts.toml layout (DIR/<host>/hosts.toml)")
      ->capture_default_str();
  app.add_option("--registry-auth", options.registry_auth,
                 "Docker config.json with registry credentials (auths)");
  app.add_option("--registry-listen", options.registry_listen,
                 "serve the registry API read-only to peers at host:port (plain HTTP)");
  app.add_option("--max-concurrent-downloads", options.max_concurrent_downloads,
                 "layer blobs one pull downloads at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--sized-backend", options.sized_backend,
                 "what makes sized writable layers: auto, btrfs-qgroup, ext4-loop or none")
      ->check(CLI::IsMember({"auto", "btrfs-qgroup", "ext4-loop", "none"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (auto [flag, text, out] :
       {std::tuple{"--gc-interval", &gc_interval, &options.gc_interval},
        std::tuple{"--ingest-max-age", &ingest_max_age, &options.ingest_max_age}}) {
    if (*text == "0") {
      *out = absl::ZeroDuration();
    } else if (!absl::ParseDuration(*text, out) || *out < absl::ZeroDuration()) {
      std::fprintf(stderr, "stratad: error: %s %s is not a duration (like 90s, 30m or 6h)\n", flag,
                   text->c_str());
      return 2;
    }
  }
  // Layer entry names are bytes; a UTF-8 locale lets libarchive hand PAX
  // (UTF-8) names through unchanged.
  std::setlocale(LC_ALL, "C.UTF-8");

  try {
    options.socket_mode = static_cast<mode_t>(std::stoul(mode, nullptr, 8));
  } catch (...) {
    std::fprintf(stderr, "stratad: error: --socket-mode %s is not an octal mode\n", mode.c_str());
    return 2;
  }
  if (log_level == "debug") strata::log::SetLevel(strata::log::Level::kDebug);
  if (log_level == "warn") strata::log::SetLevel(strata::log::Level::kWarn);
  if (log_level == "error") strata::log::SetLevel(strata::log::Level::kError);

  // Block the stop signals before any thread starts, so every thread inherits
  // the mask and only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto daemon = strata::daemon::Daemon::Start(options);
  if (!daemon.ok()) {
    std::fprintf(stderr, "stratad: error: %s\n", std::string(daemon.status().message()).c_str());
    return 1;
  }
  std::printf("stratad: serving root=%s socket=%s\n", options.root.c_str(), options.socket.c_str());
  std::fflush(stdout);
  strata::log::Info("serving", {{"root", options.root}, {"socket", options.socket}});

  int sig = 0;
  sigwait(&stop, &sig);
  strata::log::Info("stopping", {{"signal", std::to_string(sig)}});
  (*daemon)->Shutdown();
  strata::log::Info("stopped");
  return 0;
}
