// stratad: the strata daemon. Flags are a contract (DESIGN.md, last section).
//
// Settings come from built-in defaults, then the config file
// (/etc/strata/config.toml, or --config FILE), then the flags given.
// SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the config file and
// applies what can change without a restart (Daemon::Reload).
#include <signal.h>

#include <clocale>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "common/fs.h"
#include "common/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/manpage.h"
#include "daemon/preflight.h"
#include "daemon/setting_flags.h"
#include "daemon/systemd.h"
#include "strata/version.h"

namespace {

using strata::daemon::DaemonOptions;

// Exit codes: 1 the daemon failed to start or stopped on an error; 2 a bad
// command line or config file.
constexpr int kExitFailed = 1;
constexpr int kExitConfig = 2;

int Fail(int code, const absl::Status& s) {
  std::fprintf(stderr, "stratad: error: %s\n", std::string(s.message()).c_str());
  return code;
}

class Configuration {
 public:
  explicit Configuration(CLI::App* app) : flags_(app) {
    config_option_ = app->add_option("--config", config_file_, "config file (TOML)")
                         ->default_str(strata::daemon::kDefaultConfigPath);
  }

  // Defaults, then the config file (the default one only if it exists), then flags.
  absl::StatusOr<DaemonOptions> Load() const {
    DaemonOptions options;
    std::string path = config_file_;
    if (config_option_->count() == 0) {
      path = strata::PathExists(strata::daemon::kDefaultConfigPath)
                 ? strata::daemon::kDefaultConfigPath
                 : "";
    }
    if (!path.empty()) {
      absl::Status s = strata::daemon::ApplyConfigFile(path, &options);
      if (!s.ok()) return s;
      options.config_file = path;
    }
    absl::Status s = flags_.Apply(&options);
    if (!s.ok()) return s;
    return options;
  }

 private:
  strata::daemon::SettingFlags flags_;
  std::string config_file_;
  CLI::Option* config_option_ = nullptr;
};

// Waits for signals until told to stop; reloads on SIGHUP.
void ServeUntilStopped(strata::daemon::Daemon& daemon, const Configuration& config,
                       const sigset_t& signals) {
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) {
      strata::log::Info("stopping", {{"signal", std::to_string(sig)}});
      return;
    }
    strata::daemon::NotifyReloading();
    absl::StatusOr<DaemonOptions> next = config.Load();
    absl::Status s = next.ok() ? daemon.Reload(*next) : next.status();
    // A bad file on reload keeps the daemon running as it was.
    if (!s.ok()) strata::log::Error("reload failed; settings unchanged", {{"err", s.ToString()}});
    strata::daemon::NotifyReady("serving");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"stratad: container image layer store daemon"};
  Configuration config(&app);
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "print the effective configuration (defaults, config file, flags) and exit");
  bool print_template = false;
  app.add_flag("--print-config-template", print_template,
               "print a config file documenting every setting at its default, and exit");
  bool print_man = false;
  app.add_flag("--print-man-page", print_man, "print stratad(8), the manual page, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, ours, naming what was wrong; exit 2 as for a bad config file.
    std::fprintf(stderr, "stratad: error: %s (see stratad --help)\n", e.what());
    return kExitConfig;
  }
  if (print_template) {
    std::fputs(strata::daemon::FormatConfigTemplate().c_str(), stdout);
    return 0;
  }
  if (print_man) {
    std::fputs(strata::daemon::FormatManPage(STRATA_VERSION).c_str(), stdout);
    return 0;
  }
  absl::StatusOr<DaemonOptions> options = config.Load();
  if (!options.ok()) return Fail(kExitConfig, options.status());
  if (absl::Status s = strata::daemon::CheckSettingsOnHost(*options); !s.ok()) {
    return Fail(kExitConfig, s);
  }
  if (print_config) {
    std::fputs(strata::daemon::FormatConfig(*options).c_str(), stdout);
    return 0;
  }
  // Layer entry names are bytes; a UTF-8 locale lets libarchive hand PAX
  // (UTF-8) names through unchanged.
  std::setlocale(LC_ALL, "C.UTF-8");
  strata::daemon::LogToJournalIfConnected();
  strata::daemon::ApplyLogLevel(options->log_level);

  // Block the signals before any thread starts, so every thread inherits the
  // mask and only sigwait receives them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto daemon = strata::daemon::Daemon::Start(*options);
  if (!daemon.ok()) return Fail(kExitFailed, daemon.status());
  std::printf("stratad: serving root=%s socket=%s\n", options->root.c_str(),
              options->socket.c_str());
  std::fflush(stdout);
  strata::log::Info(
      "serving",
      {{"root", options->root}, {"socket", options->socket}, {"config", options->config_file}});
  strata::daemon::NotifyReady("serving " + options->socket);

  ServeUntilStopped(**daemon, config, signals);
  strata::daemon::NotifyStopping();
  (*daemon)->Shutdown();
  strata::log::Info("stopped");
  return 0;
}
