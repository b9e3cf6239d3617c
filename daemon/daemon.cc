#include "daemon/daemon.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "api/containerd_snapshots_service.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "daemon/socket.h"
#include "meta/db.h"
#include "snapshotter/snapshotter.h"

namespace strata::daemon {
namespace {

// How long SIGTERM waits for in-flight calls before cancelling them.
constexpr auto kDrainTimeout = std::chrono::seconds(30);

// The root must exist and take writes; a read-only or foreign root fails here
// with a clear message rather than deep inside RocksDB.
absl::Status CheckRootWritable(const std::string& root) {
  STRATA_RETURN_IF_ERROR(Annotate(MakeDirs(root, 0711), absl::StrCat("root ", root)));
  std::string probe = absl::StrCat(root, "/.write-probe-", ::getpid());
  int fd = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoToStatus(errno, absl::StrCat("root ", root, " is not writable"));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->options_ = options;
  STRATA_RETURN_IF_ERROR(CheckRootWritable(options.root));
  STRATA_ASSIGN_OR_RETURN(d->db_, meta::Db::Open({options.root + "/meta"}));
  STRATA_ASSIGN_OR_RETURN(d->snapshotter_,
                          snapshotter::Snapshotter::Open(d->db_.get(), {options.root}));
  const auto& report = d->snapshotter_->recovery_report();
  log::Info("recovered",
            {{"tmp_removed", std::to_string(report.tmp_entries_removed)},
             {"orphan_dirs_removed", std::to_string(report.orphan_dirs_removed)},
             {"records_missing_dir", std::to_string(report.records_missing_dir.size())}});

  STRATA_RETURN_IF_ERROR(PrepareSocketPath(options.socket));
  d->containerd_snapshots_ =
      std::make_unique<api::ContainerdSnapshotsService>(d->snapshotter_.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + options.socket, grpc::InsecureServerCredentials());
  builder.RegisterService(d->containerd_snapshots_.get());
  // The socket is created with the process umask: make it private until the
  // intended mode and group are applied, so it is never briefly too open.
  mode_t old_umask = ::umask(0177);
  d->server_ = builder.BuildAndStart();
  ::umask(old_umask);
  if (d->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.socket));
  }
  STRATA_RETURN_IF_ERROR(
      SetSocketAccess(options.socket, options.socket_mode, options.socket_group));
  return d;
}

void Daemon::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server_->Wait();
  server_.reset();
  // Every acknowledged write is already durable; this just waits for stragglers.
  absl::Status s = db_->Flush();
  if (!s.ok()) log::Error("flush at shutdown", {{"err", s.ToString()}});
  ::unlink(options_.socket.c_str());
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace strata::daemon
