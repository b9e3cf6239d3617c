// stratad's Prometheus endpoint (--metrics-listen): gRPC calls by method and
// status code (counts and latency histograms), the work counters of
// layerstore/work_counters.h, and what the store holds (counts from
// metadata; bytes of blobs, layers, writable layers and metadata). Served
// at http://ADDR/metrics. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "layerstore/store.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace strata::daemon {

class StoreCollector;
class CallMetrics;

class Metrics {
 public:
  // Listens on `address` ("127.0.0.1:9130", port 0 for any); an address that
  // cannot be bound (in use, bad) is an error. `store` must outlive this.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& address,
                                                        layerstore::Store* store);
  ~Metrics();

  // One finished gRPC call: its full method name, status code and duration.
  void ObserveCall(const std::string& method, int code, double seconds);
  int port() const;

 private:
  Metrics();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<CallMetrics> calls_;
  std::shared_ptr<StoreCollector> store_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace strata::daemon
