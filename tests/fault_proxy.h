// A fault-injecting HTTP proxy for tests, between strata and a registry on
// loopback (plain HTTP). It forwards every request and, when told to, drops
// a blob's connection partway, ignores Range, corrupts a blob's bytes,
// answers 429 and 503 with Retry-After, or sends blobs slowly. It counts the
// blob bytes it sent, as a registry's access log would.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace strata::testing {

struct Faults {
  // Blob responses: the connection closes after this many body bytes
  // (negative: never), for the next `drops` blob responses longer than that.
  int64_t drop_after = -1;
  int drops = 0;
  // Range headers are not forwarded: the registry sends whole blobs (200).
  bool ignore_range = false;
  // One byte of every blob response is changed.
  bool corrupt = false;
  // The next `busy` requests are answered 429 and 503 in turn, Retry-After: 1.
  int busy = 0;
  // Blob bodies are sent at this rate (0: as fast as they come).
  int64_t bytes_per_second = 0;
  // Uploads: the next `upload_drops` PATCHes longer than this reach the
  // registry cut to this many bytes (0: not at all), and the client sees
  // 502, as if the connection had dropped there.
  int64_t upload_cut_at = -1;
  int upload_drops = 0;
  // Manifest requests: answered with this status (and a DENIED error
  // body) instead of forwarded (0: forwarded).
  int manifest_status = 0;
  // Manifests forwarded with this many spaces after them (still valid JSON).
  int64_t manifest_padding = 0;
};

class FaultProxy {
 public:
  // Forwards to `upstream` ("127.0.0.1:<port>").
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(const std::string& upstream);
  ~FaultProxy();

  // "127.0.0.1:<port>"
  const std::string& host() const { return host_; }
  void Set(const Faults& faults);
  // Blob body bytes sent to clients, and the GETs of blobs they asked for.
  int64_t blob_bytes_sent() const { return blob_bytes_.load(); }
  int blob_requests() const { return blob_requests_.load(); }
  int busy_answered() const { return busy_answered_.load(); }
  int uploads_cut() const { return uploads_cut_.load(); }
  int upload_sessions() const { return upload_sessions_.load(); }  // POSTs to .../blobs/uploads/

 private:
  FaultProxy() = default;
  void Handle(const httplib::Request& req, httplib::Response& res);

  std::string host_;
  std::string upstream_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  Mutex mu_;
  Faults faults_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> blob_bytes_{0};
  std::atomic<int> blob_requests_{0};
  std::atomic<int> busy_answered_{0};
  std::atomic<int> uploads_cut_{0};
  std::atomic<int> upload_sessions_{0};
};

}  // namespace strata::testing
