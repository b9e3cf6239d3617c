#include "daemon/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <exception>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/mutex.h"
#include "layerstore/store_census.h"
#include "layerstore/work_counters.h"

namespace strata::daemon {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// gRPC calls: a counter and a latency histogram per method and status code.
class CallMetrics {
 public:
  explicit CallMetrics(prometheus::Registry& registry)
      : requests_(prometheus::BuildCounter()
                      .Name("strata_grpc_requests_total")
                      .Help("gRPC calls finished, by method and status code")
                      .Register(registry)),
        durations_(prometheus::BuildHistogram()
                       .Name("strata_grpc_request_duration_seconds")
                       .Help("gRPC call latency, by method and status code")
                       .Register(registry)) {}

  void Observe(const std::string& method, int code, double seconds) {
    std::map<std::string, std::string> labels = {
        {"method", method},
        {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}};
    requests_.Add(labels).Increment();
    durations_.Add(labels, Buckets()).Observe(seconds);
  }

 private:
  static const prometheus::Histogram::BucketBoundaries& Buckets() {
    static const prometheus::Histogram::BucketBoundaries kBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    return kBuckets;
  }

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

namespace {

// How stale the writable layers' byte count may be: measuring walks every
// unsized writable layer, too slow to repeat for every scrape.
constexpr absl::Duration kWritableRefresh = absl::Seconds(30);

ClientMetric Value(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  m.gauge.value = v;
  return m;
}

MetricFamily Family(const std::string& name, const std::string& help, MetricType type,
                    std::vector<ClientMetric> metrics) {
  return MetricFamily{name, help, type, std::move(metrics)};
}

MetricFamily Counter(const std::string& name, const std::string& help,
                     const layerstore::WorkCounters::Count& c) {
  return Family(name, help, MetricType::Counter, {Value(static_cast<double>(c.load()))});
}

MetricFamily Gauge(const std::string& name, const std::string& help, int64_t v) {
  return Family(name, help, MetricType::Gauge, {Value(static_cast<double>(v))});
}

double Seconds(const layerstore::WorkCounters::Count& nanos) {
  return static_cast<double>(nanos.load()) / 1e9;
}

void AddWorkFamilies(std::vector<MetricFamily>* out) {
  const layerstore::WorkCounters& c = layerstore::Counters();
  out->push_back(Counter("strata_layers_unpacked_total", "layers unpacked", c.layers_unpacked));
  out->push_back(Counter("strata_unpack_blob_bytes_total",
                         "layer blob bytes (compressed) read by unpacks", c.unpack_blob_bytes));
  out->push_back(Counter("strata_inflate_bytes_total",
                         "tar bytes that unpacks inflated from layer blobs", c.unpack_tar_bytes));
  out->push_back(Family("strata_unpack_seconds_total",
                        "time spent unpacking layers (not waiting for their bytes)",
                        MetricType::Counter, {Value(Seconds(c.unpack_nanos))}));
  out->push_back(Counter("strata_imports_total", "archive imports completed", c.imports));
  out->push_back(
      Counter("strata_imported_bytes_total", "archive bytes read by imports", c.imported_bytes));
  out->push_back(
      Counter("strata_imported_layers_total", "layers of the images imported", c.imported_layers));
  out->push_back(Counter("strata_pulls_total", "registry pulls completed", c.pulls));
  out->push_back(Counter("strata_pulled_bytes_total",
                         "layer blob bytes received from registries (what crossed the wire)",
                         c.pulled_bytes));
  out->push_back(
      Counter("strata_pulled_layers_total", "layers of the images pulled", c.pulled_layers));
  out->push_back(Counter("strata_pushes_total", "registry pushes completed", c.pushes));
  out->push_back(
      Counter("strata_pushed_bytes_total", "blob bytes uploaded to registries", c.pushed_bytes));
  out->push_back(
      Family("strata_pushed_blobs_total", "blobs a push sent, by how", MetricType::Counter,
             {Value(static_cast<double>(c.pushed_blobs_uploaded.load()), {{"how", "uploaded"}}),
              Value(static_cast<double>(c.pushed_blobs_mounted.load()), {{"how", "mounted"}}),
              Value(static_cast<double>(c.pushed_blobs_present.load()), {{"how", "present"}})}));
}

void AddGcFamilies(std::vector<MetricFamily>* out) {
  const layerstore::WorkCounters& c = layerstore::Counters();
  out->push_back(Counter("strata_gc_runs_total", "garbage collections run", c.gc_runs));
  out->push_back(
      Counter("strata_gc_removed_items_total", "items garbage collection removed", c.gc_items));
  out->push_back(
      Counter("strata_gc_freed_bytes_total", "bytes garbage collection freed", c.gc_bytes));
  ClientMetric h;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < c.gc_duration_buckets.size(); ++i) {
    cumulative += static_cast<uint64_t>(c.gc_duration_buckets[i].load());
    double bound = i < layerstore::WorkCounters::kGcBuckets.size()
                       ? layerstore::WorkCounters::kGcBuckets[i]
                       : std::numeric_limits<double>::infinity();
    h.histogram.bucket.push_back({cumulative, bound});
  }
  h.histogram.sample_count = cumulative;
  h.histogram.sample_sum = Seconds(c.gc_duration_nanos);
  out->push_back(Family("strata_gc_duration_seconds", "how long garbage collections took",
                        MetricType::Histogram, {h}));
}

void AddCensusFamilies(const layerstore::StoreCensus& c, int64_t writable_bytes,
                       std::vector<MetricFamily>* out) {
  out->push_back(Gauge("strata_images", "image names", c.images));
  out->push_back(Gauge("strata_blobs", "blobs stored", c.blobs));
  out->push_back(Gauge("strata_layers", "unpacked layers", c.layers));
  out->push_back(Family("strata_snapshots", "snapshots (both key spaces), by kind",
                        MetricType::Gauge,
                        {Value(static_cast<double>(c.committed_snapshots), {{"kind", "committed"}}),
                         Value(static_cast<double>(c.active_snapshots), {{"kind", "active"}}),
                         Value(static_cast<double>(c.view_snapshots), {{"kind", "view"}})}));
  out->push_back(Gauge("strata_leases", "leases", c.leases));
  out->push_back(Gauge("strata_ingests", "uploads in progress", c.ingests));
  std::vector<ClientMetric> held = {
      Value(static_cast<double>(c.blob_bytes), {{"what", "blobs"}}),
      Value(static_cast<double>(c.layer_bytes), {{"what", "layers"}}),
      Value(static_cast<double>(c.metadata_bytes), {{"what", "metadata"}})};
  if (writable_bytes >= 0) {
    held.push_back(Value(static_cast<double>(writable_bytes), {{"what", "writable"}}));
  }
  out->push_back(Family("strata_held_bytes",
                        "bytes the store holds: blobs (as stored), layers (unpacked), writable "
                        "layers (measured at most every 30 s), metadata",
                        MetricType::Gauge, std::move(held)));
}

}  // namespace

// What the store holds and the work counters, read at each scrape.
class StoreCollector : public prometheus::Collectable {
 public:
  explicit StoreCollector(layerstore::Store* store) : store_(store) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    AddWorkFamilies(&out);
    AddGcFamilies(&out);
    absl::StatusOr<layerstore::StoreCensus> census = layerstore::TakeCensus(*store_);
    if (census.ok()) {
      AddCensusFamilies(*census, WritableBytes(), &out);
    } else {
      log::Warn("metrics: store census failed", {{"err", census.status().ToString()}});
    }
    return out;
  }

 private:
  // -1 when it cannot be measured.
  int64_t WritableBytes() const {
    MutexLock l(&mu_);
    if (absl::Now() - measured_ < kWritableRefresh) return writable_bytes_;
    int64_t total = 0;
    bool ok = true;
    for (snapshotter::KeySpace space :
         {snapshotter::KeySpace::kNative, snapshotter::KeySpace::kContainerd}) {
      std::vector<std::string> active;
      ok &= store_->snapshots
                ->Walk(space, {"kind==active"},
                       [&active](const snapshotter::Info& i) {
                         active.push_back(i.name);
                         return true;
                       })
                .ok();
      for (const std::string& key : active) {
        // A layer removed since the walk is simply not counted.
        absl::StatusOr<snapshotter::Usage> u = store_->snapshots->GetUsage(space, key);
        if (u.ok()) total += u->size;
      }
    }
    writable_bytes_ = ok ? total : -1;
    measured_ = absl::Now();
    return writable_bytes_;
  }

  layerstore::Store* const store_;
  mutable Mutex mu_;
  mutable absl::Time measured_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable int64_t writable_bytes_ ABSL_GUARDED_BY(mu_) = -1;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& address,
                                                        layerstore::Store* store) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  m->calls_ = std::make_unique<CallMetrics>(*m->registry_);
  m->store_ = std::make_shared<StoreCollector>(store);
  try {
    // The one place prometheus-cpp's (civetweb's) exceptions become a status.
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", address, " (in use, or not host:port)"));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->store_);
  return m;
}

void Metrics::ObserveCall(const std::string& method, int code, double seconds) {
  calls_->Observe(method, code, seconds);
}

int Metrics::port() const {
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace strata::daemon
