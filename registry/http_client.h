// HTTP for the registry client, over libcurl: HTTP/1.1 and HTTP/2 (over
// TLS, negotiated), one connection pool (and DNS and TLS session caches)
// shared by every request of the daemon, TLS verified unless an endpoint says
// otherwise. One request per call and no redirect followed here: the caller
// follows them itself, so it can drop credentials when the host changes.
// libcurl's errors become a Status here and nowhere else.
//
// Thread-safe: any number of requests may run at once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cancel.h"

namespace strata::registry {

struct TlsOptions {
  std::vector<std::string> ca_files;  // extra trusted CAs (PEM), besides the system's
  bool skip_verify = false;
};

// A request body of `size` bytes, read as it is sent: `read_at` fills `buf`
// with up to `n` bytes from `offset` and returns how many (positional, so a
// request sent again reads it again).
struct RequestBody {
  int64_t size = 0;
  std::function<absl::StatusOr<size_t>(int64_t offset, char* buf, size_t n)> read_at;
};

// A body held in memory (which must outlive it).
RequestBody MemoryBody(absl::string_view bytes);

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH or DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t range_from = -1;            // >= 0: "Range: bytes=<from>-"
  const RequestBody* body = nullptr;  // POST, PUT, PATCH; none: empty
  TlsOptions tls;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;                                          // when the request had no sink

  // The first value of header `name` (lower case), or "".
  std::string Header(absl::string_view name) const;
};

// Receives a 2xx answer's body as it arrives: `start` (optional) once with
// the status before the first byte, then `data` per chunk. An error from
// either stops the transfer and becomes the request's result. `cancel`
// (optional, must outlive the request) is asked several times a second,
// also while no byte arrives: once it says so the transfer stops, CANCELLED.
struct BodySink {
  std::function<absl::Status(long status)> start;
  std::function<absl::Status(const char* data, size_t n)> data;
  const Cancellation* cancel = nullptr;
};

// What the message of an UNAVAILABLE status starts with when the TLS
// handshake failed (the peer may speak plain HTTP).
extern const char kTlsHandshakeFailed[];

class HttpClient {
 public:
  struct Options {
    // Default: 10 s.
    absl::Duration connect_timeout = absl::Seconds(10);
    // A transfer slower than 1 KiB/s for this long is given up,
    // DEADLINE_EXCEEDED ("stalled"). Default: 30 s.
    absl::Duration stall_timeout = absl::Seconds(30);
    // A body kept in memory (no sink) larger than this is refused. Default: 4 MiB.
    int64_t max_memory_body = 4 << 20;
    std::string user_agent = "strata";
  };

  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request`; the body goes to `sink` if given (only for a 2xx
  // answer; other bodies are kept, bounded, for their error message), else
  // into the response. Any HTTP status is a response; UNAVAILABLE for a
  // connection refused, reset or not made in time; DEADLINE_EXCEEDED for a
  // transfer that stalled; FAILED_PRECONDITION for a TLS certificate that is
  // not trusted; CANCELLED when the sink's `cancel` said so.
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request, const BodySink* sink = nullptr);

 private:
  struct Shared;
  const Options options_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace strata::registry
