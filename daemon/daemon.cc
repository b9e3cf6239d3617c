#include "daemon/daemon.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/admin_service.h"
#include "api/content_service.h"
#include "api/grpc_status.h"
#include "api/images_service.h"
#include "api/layers_service.h"
#include "api/leases_service.h"
#include "api/snapshots_service.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "daemon/call_log.h"
#include "daemon/config.h"
#include "daemon/gc_policy.h"
#include "daemon/metrics.h"
#include "daemon/preflight.h"
#include "daemon/socket.h"
#include "layerstore/store.h"
#include "registry/cri_layers.h"
#include "registry/http_client.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/registry_client.h"
#include "registry/registry_server.h"

namespace strata::daemon {
namespace {

// How long SIGTERM waits for in-flight calls before cancelling them.
constexpr auto kDrainTimeout = std::chrono::seconds(30);
// Archive and layer bytes arrive in messages of up to this size.
constexpr int kMaxMessageBytes = 16 << 20;

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

GcPolicy::Options PolicyOf(const DaemonOptions& o) {
  GcPolicy::Options policy;
  policy.interval = o.gc_interval;
  policy.after_deletions = o.gc_after_deletions;
  policy.ingest_max_age = o.ingest_max_age;
  return policy;
}

}  // namespace

void ApplyLogLevel(const std::string& level) {
  log::SetLevel(log::ParseLevel(level).value_or(log::Level::kInfo));
}

Daemon::Daemon() = default;

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->options_ = options;
  // Before the store is made: a taken port must not leave an empty root.
  STRATA_RETURN_IF_ERROR(CheckListenAddresses(options));
  STRATA_RETURN_IF_ERROR(d->OpenStore());
  if (!options.metrics_listen.empty()) {
    STRATA_ASSIGN_OR_RETURN(d->metrics_, Metrics::Start(options.metrics_listen, d->store_.get()));
    log::Info("serving metrics",
              {{"address", options.metrics_listen}, {"port", std::to_string(d->metrics_->port())}});
  }
  STRATA_RETURN_IF_ERROR(d->Serve());
  return d;
}

absl::Status Daemon::OpenStore() {
  const std::string& root = options_.root;
  STRATA_RETURN_IF_ERROR(CheckRootWritable(root));
  layerstore::UnpackOptions unpack;
  unpack.parallelism = options_.unpack_jobs;
  unpack.limits.max_written_bytes = options_.max_layer_bytes;
  unpack.limits.max_entries = options_.max_layer_entries;
  STRATA_ASSIGN_OR_RETURN(store_, layerstore::Store::Open(root, unpack, options_.sized_backend));
  char resolved[PATH_MAX];
  api::SetStoreRootForMessages(::realpath(root.c_str(), resolved) != nullptr ? resolved : root);
  gc_policy_ = std::make_unique<GcPolicy>(store_->gc.get(), PolicyOf(options_));
  STRATA_RETURN_IF_ERROR(OpenRegistryClient());
  const auto& report = store_->snapshots->recovery_report();
  log::Info("recovered",
            {{"tmp_removed", std::to_string(report.tmp_entries_removed)},
             {"orphan_dirs_removed", std::to_string(report.orphan_dirs_removed)},
             {"orphan_blobs_removed", std::to_string(store_->content->orphan_blobs_removed())},
             {"dead_ingests_removed", std::to_string(store_->content->dead_ingests_removed())},
             {"records_missing_dir", std::to_string(report.records_missing_dir.size())},
             {"sized_restored", std::to_string(report.sized_restored)},
             {"sized_released", std::to_string(report.sized_released)},
             {"calls_rolled_back", std::to_string(store_->calls_rolled_back)}});
  if (store_->snapshots->sized_backend().empty()) {
    log::Info("sized layers unavailable", {{"why", store_->snapshots->sized_unavailable()}});
  } else {
    log::Info("sized layers", {{"backend", store_->snapshots->sized_backend()}});
  }
  return absl::OkStatus();
}

absl::Status Daemon::Reload(const DaemonOptions& next) {
  registry::Credentials credentials;
  if (!next.registry_auth.empty()) {
    STRATA_ASSIGN_OR_RETURN(credentials, registry::Credentials::Load(next.registry_auth));
  }
  registry_->SetCredentials(std::move(credentials));
  ApplyLogLevel(next.log_level);
  gc_policy_->Update(PolicyOf(next));
  std::vector<std::string> restart;
  for (const std::string& key : ChangedKeys(options_, next)) {
    const Setting* s = FindSetting(key);
    if (s->reloadable) {
      // Already checked when `next` was read: cannot fail here.
      (void)s->set(s->get(next), &options_);
    } else {
      restart.push_back(key);
    }
  }
  if (!restart.empty()) {
    log::Warn("reload: these settings change only at restart",
              {{"keys", absl::StrJoin(restart, ",")}});
  }
  log::Info("reloaded", {{"log_level", next.log_level},
                         {"gc_interval", absl::FormatDuration(next.gc_interval)},
                         {"gc_after_deletions", next.gc_after_deletions ? "true" : "false"},
                         {"registry_auth", next.registry_auth}});
  return absl::OkStatus();
}

absl::Status Daemon::OpenRegistryClient() {
  registry::RegistryClient::Options options;
  options.hosts_dir = options_.registry_hosts;
  if (!options_.registry_auth.empty()) {
    STRATA_ASSIGN_OR_RETURN(options.credentials,
                            registry::Credentials::Load(options_.registry_auth));
  }
  registry::HttpClient::Options http;
  if (options_.registry_stall_timeout > absl::ZeroDuration()) {
    http.stall_timeout = options_.registry_stall_timeout;
  }
  http_ = std::make_unique<registry::HttpClient>(http);
  registry_ = std::make_unique<registry::RegistryClient>(http_.get(), std::move(options));
  registry::PullerOptions pulling;
  pulling.parallel_downloads = options_.max_concurrent_downloads;
  pulling.max_layer_blob_bytes = options_.max_layer_bytes;
  pulling.download_timeout = options_.registry_download_timeout;
  puller_ =
      std::make_unique<registry::Puller>(registry_.get(), store_->content.get(),
                                         store_->images.get(), store_->unpacker.get(), pulling);
  pusher_ = std::make_unique<registry::Pusher>(registry_.get(), store_->content.get(),
                                               store_->images.get());
  cri_layers_ = std::make_unique<registry::CriLayers>(puller_.get(), store_->unpacker.get());
  if (!options_.registry_listen.empty()) {
    STRATA_ASSIGN_OR_RETURN(registry_server_, registry::RegistryServer::Start(
                                                  options_.registry_listen, store_->content.get(),
                                                  store_->images.get()));
    log::Info("serving the registry API", {{"address", options_.registry_listen},
                                           {"port", std::to_string(registry_server_->port())}});
  }
  return absl::OkStatus();
}

namespace {

// A CRI layer fetch's call lease, kept until the Prepare has made its layers
// containerd's; then dropped, leaving them.
struct FetchHold {
  explicit FetchHold(layerstore::CallScope s) : scope(std::move(s)) {}
  ~FetchHold() { (void)scope.Succeed(); }
  layerstore::CallScope scope;
};

}  // namespace

std::shared_ptr<void> Daemon::FetchCriLayer(const std::map<std::string, std::string>& labels) {
  // Most of a CRI pull's Prepares find their layer here already (the first
  // fetched them all): no call lease for those.
  if (cri_layers_ == nullptr || !cri_layers_->Wanted(labels)) return nullptr;
  absl::StatusOr<layerstore::CallScope> scope =
      layerstore::CallScope::Begin(store_->leases.get(), store_->gc.get(), "");
  if (!scope.ok()) return nullptr;
  absl::Status s = cri_layers_->Fetch(labels, scope->lease());
  if (!s.ok()) {
    // containerd fetches and unpacks it itself, as without strata. The
    // scope rolls back what this fetch made.
    log::Warn("CRI layer fetch failed; containerd will fetch it", {{"err", s.ToString()}});
    return nullptr;
  }
  return std::make_shared<FetchHold>(std::move(*scope));
}

absl::Status Daemon::Serve() {
  STRATA_RETURN_IF_ERROR(PrepareSocketPath(options_.socket));
  layerstore::ImportOptions import_policy;
  import_policy.allowed_import_dirs = options_.import_dirs;
  GcPolicy* policy = gc_policy_.get();
  api::DeletionHook deleted = [policy] { policy->NoteDeletion(); };
  // containerd's snapshots are its own: removing one frees nothing we collect.
  services_.push_back(std::make_unique<api::ContainerdSnapshotsService>(
      store_->snapshots.get(), snapshotter::KeySpace::kContainerd, nullptr, nullptr,
      [this](const snapshotter::Labels& labels) { return FetchCriLayer(labels); }));
  layerstore::ImageStore* images = store_->images.get();
  services_.push_back(std::make_unique<api::NativeSnapshotsService>(
      store_->snapshots.get(), snapshotter::KeySpace::kNative, deleted,
      [images](const std::string& key) { return images->CheckNoImageNeeds(key); }));
  services_.push_back(std::make_unique<api::ContentService>(store_->content.get(), deleted));
  api::AdminService::DaemonFacts facts;
  facts.socket = options_.socket;
  facts.config_file = options_.config_file;
  facts.metrics_listen = options_.metrics_listen;
  facts.registry_listen = options_.registry_listen;
  facts.ingest_max_age = [policy] { return policy->ingest_max_age(); };
  services_.push_back(std::make_unique<api::AdminService>(store_.get(), std::move(facts)));
  services_.push_back(std::make_unique<api::ImagesService>(
      store_->importer.get(), store_->images.get(), store_->content.get(), store_->snapshots.get(),
      store_->committer.get(), store_->leases.get(), store_->gc.get(), import_policy, puller_.get(),
      pusher_.get(), deleted, store_->squasher.get()));
  services_.push_back(std::make_unique<api::LayersService>(
      store_->content.get(), store_->unpacker.get(), store_->committer.get(), store_->leases.get(),
      store_->gc.get(), store_->squasher.get(), store_->images.get(), store_->snapshots.get()));
  services_.push_back(std::make_unique<api::LeasesService>(store_->leases.get(), deleted));
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + options_.socket, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  for (auto& s : services_) builder.RegisterService(s.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  CallObserver observer;
  if (metrics_ != nullptr) {
    Metrics* metrics = metrics_.get();
    observer = [metrics](const std::string& method, int code, double seconds) {
      metrics->ObserveCall(method, code, seconds);
    };
  }
  interceptors.push_back(std::make_unique<CallLogFactory>(std::move(observer)));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  // The socket is created with the process umask: make it private until the
  // intended mode and group are applied, so it is never briefly too open.
  mode_t old_umask = ::umask(0177);
  server_ = builder.BuildAndStart();
  ::umask(old_umask);
  if (server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.socket));
  }
  return SetSocketAccess(options_.socket, options_.socket_mode, options_.socket_group);
}

void Daemon::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server_->Wait();
  server_.reset();
  registry_server_.reset();
  metrics_.reset();
  gc_policy_.reset();  // waits for a scheduled collection in progress
  // Every acknowledged write is already durable; this just waits for stragglers.
  absl::Status s = store_->db->Flush();
  if (!s.ok()) log::Error("flush at shutdown", {{"err", s.ToString()}});
  ::unlink(options_.socket.c_str());
}

Daemon::~Daemon() { Shutdown(); }

}  // namespace strata::daemon
