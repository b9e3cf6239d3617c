#include "registry/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status_util.h"

namespace strata::registry {
namespace {

// Debian's trust store: extra CAs are added to it, as containerd adds a
// host's `ca` to the system pool.
constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The one place a CURLcode becomes a Status.
}  // namespace

const char kTlsHandshakeFailed[] = "TLS handshake failed: ";

namespace {

// `answered`: the server had sent its status line (a timeout after it is a
// stalled transfer; before it, a server not reached).
absl::Status FromCurl(CURLcode code, const char* detail, absl::string_view url, bool answered) {
  std::string msg = absl::StrCat(url, ": ", detail[0] != '\0' ? detail : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return absl::FailedPreconditionError(absl::StrCat("TLS: ", msg));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(msg);
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(msg);
    case CURLE_OPERATION_TIMEDOUT:
      if (!answered) return absl::UnavailableError(msg);
      return absl::DeadlineExceededError(absl::StrCat("stalled: ", msg));
    case CURLE_SSL_CONNECT_ERROR:  // the peer does not speak TLS, or not ours
      return absl::UnavailableError(absl::StrCat(kTlsHandshakeFailed, msg));
    default:  // refused, reset, timed out, name not resolved, TLS handshake...
      return absl::UnavailableError(msg);
  }
}

// One transfer's state, for libcurl's callbacks.
struct Transfer {
  CURL* easy = nullptr;
  const BodySink* sink = nullptr;
  const RequestBody* body = nullptr;
  int64_t sent = 0;  // of `body`
  int64_t max_memory_body = 0;
  HttpResponse response;
  bool head = false;        // a HEAD request: Content-Length is the resource's, no body comes
  bool started = false;     // the sink has heard of the body
  absl::Status sink_error;  // why the body was refused, if it was

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    absl::string_view line(data, size * n);
    if (absl::StartsWith(line, "HTTP/")) {
      t->response.headers.clear();  // a new response (after 100 Continue, say)
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon != absl::string_view::npos) {
      std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
      std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      // A body to be kept in memory that says it is too large is refused on
      // its word, before a byte of it is read.
      int64_t length = 0;
      if (name == "content-length" && !t->head && absl::SimpleAtoi(value, &length) &&
          length > t->max_memory_body && !t->ToSink(t->Status())) {
        t->sink_error = absl::ResourceExhaustedError(
            absl::StrCat("response of ", length, " bytes (Content-Length) over the limit of ",
                         t->max_memory_body));
        return 0;  // stops the transfer
      }
      t->response.headers.emplace_back(std::move(name), std::move(value));
    }
    return size * n;
  }

  // The status of the answer being received, and whether its body goes to
  // the sink (a 2xx, with a sink).
  long Status() const {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
  bool ToSink(long status) const { return sink != nullptr && status >= 200 && status < 300; }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t len = size * n;
    const long status = t->Status();
    if (t->ToSink(status)) {
      if (!t->started && t->sink->start) t->sink_error = t->sink->start(status);
      t->started = true;
      if (t->sink_error.ok()) t->sink_error = t->sink->data(data, len);
      return t->sink_error.ok() ? len : 0;  // 0 stops the transfer
    }
    if (static_cast<int64_t>(t->response.body.size() + len) > t->max_memory_body) {
      t->sink_error = absl::ResourceExhaustedError(
          absl::StrCat("response body over ", t->max_memory_body, " bytes"));
      return 0;
    }
    t->response.body.append(data, len);
    return len;
  }

  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(self);
    if (!t->sink->cancel->cancelled()) return 0;
    t->sink_error = t->sink->cancel->Check("transfer");
    return 1;  // stops the transfer
  }

  static size_t OnRead(char* buf, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    size_t want = static_cast<size_t>(
        std::min<int64_t>(static_cast<int64_t>(size * n), t->body->size - t->sent));
    if (want == 0) return 0;
    absl::StatusOr<size_t> got = t->body->read_at(t->sent, buf, want);
    if (!got.ok() || *got == 0) {
      t->sink_error = got.ok() ? absl::DataLossError("request body ended early") : got.status();
      return CURL_READFUNC_ABORT;
    }
    t->sent += static_cast<int64_t>(*got);
    return *got;
  }
};

// The PEM blob of trusted CAs: the system's plus `files`.
absl::StatusOr<std::string> CaBundle(const std::vector<std::string>& files) {
  std::string pem;
  if (PathExists(kSystemCaBundle)) {
    STRATA_ASSIGN_OR_RETURN(pem, ReadFile(kSystemCaBundle));
  }
  for (const std::string& f : files) {
    absl::StatusOr<std::string> cert = ReadFile(f);
    if (!cert.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("TLS: CA file ", f, ": ", cert.status().message()));
    }
    absl::StrAppend(&pem, "\n", *cert);
  }
  return pem;
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

// The pool: connections, DNS answers and TLS sessions shared by every
// request, guarded by one lock per kind of data as libcurl asks.
struct HttpClient::Shared {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  Shared() {
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Shared::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Shared::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Shared() { curl_share_cleanup(share); }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Shared*>(self)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Shared*>(self)->locks[data].unlock();
  }
};

HttpClient::HttpClient(Options options) : options_(std::move(options)) {
  GlobalInit();
  shared_ = std::make_unique<Shared>();
}

HttpClient::~HttpClient() = default;

RequestBody MemoryBody(absl::string_view bytes) {
  return {static_cast<int64_t>(bytes.size()),
          [bytes](int64_t offset, char* buf, size_t n) -> absl::StatusOr<size_t> {
            size_t k = std::min(n, bytes.size() - static_cast<size_t>(offset));
            std::memcpy(buf, bytes.data() + offset, k);
            return k;
          }};
}

absl::StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request, const BodySink* sink) {
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (easy == nullptr) return absl::ResourceExhaustedError("cannot start an HTTP request");
  CURL* c = easy.get();
  Transfer t;
  t.easy = c;
  t.sink = sink;
  t.max_memory_body = options_.max_memory_body;
  char error[CURL_ERROR_SIZE] = "";

  curl_easy_setopt(c, CURLOPT_SHARE, shared_->share);
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(
      c, CURLOPT_LOW_SPEED_TIME,
      static_cast<long>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.stall_timeout))));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (sink != nullptr && sink->cancel != nullptr) {
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Transfer::OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  t.body = request.body;
  bool sends_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (request.method == "HEAD") {
    t.head = true;
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    // An upload (PUT to libcurl) under the method's own name, its length known.
    static const RequestBody kEmpty{0, nullptr};
    if (t.body == nullptr) t.body = &kEmpty;
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.body->size));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &Transfer::OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
  } else if (request.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else if (request.method != "GET") {
    return absl::InvalidArgumentError(absl::StrCat("HTTP method ", request.method));
  }
  std::string range;
  if (request.range_from >= 0) {
    range = absl::StrCat(request.range_from, "-");
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  std::unique_ptr<curl_slist, ListDeleter> headers;
  std::vector<std::pair<std::string, std::string>> all = request.headers;
  // No "Expect: 100-continue" wait before a body: registries answer at once.
  if (sends_body) all.emplace_back("Expect", "");
  for (const auto& [name, value] : all) {
    std::string line = absl::StrCat(name, ": ", value);
    curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
    if (grown == nullptr) return absl::ResourceExhaustedError("HTTP headers");
    headers.release();
    headers.reset(grown);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  std::string ca_pem;
  if (request.tls.skip_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!request.tls.ca_files.empty()) {
    STRATA_ASSIGN_OR_RETURN(ca_pem, CaBundle(request.tls.ca_files));
    curl_blob blob{ca_pem.data(), ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  }

  CURLcode code = curl_easy_perform(c);
  if (!t.sink_error.ok()) return t.sink_error;  // ours: more precise than "write error"
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  STRATA_RETURN_IF_ERROR(FromCurl(code, error, request.url, t.response.status != 0));
  return std::move(t.response);
}

}  // namespace strata::registry
