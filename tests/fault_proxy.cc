#include "tests/fault_proxy.h"

#include <httplib.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"

namespace strata::testing {
namespace {

// Headers httplib adds to a request for its handlers, or sets itself on the
// way out: not forwarded.
bool Hop(const std::string& name) {
  for (const char* h : {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
                        "remote_addr", "remote_port", "local_addr", "local_port"}) {
    if (absl::EqualsIgnoreCase(name, h)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(const std::string& upstream) {
  std::unique_ptr<FaultProxy> p(new FaultProxy());
  p->upstream_ = upstream;
  p->server_ = std::make_unique<httplib::Server>();
  auto handler = [raw = p.get()](const httplib::Request& req, httplib::Response& res) {
    raw->Handle(req, res);
  };
  p->server_->Get(".*", handler);
  p->server_->Post(".*", handler);
  p->server_->Put(".*", handler);
  p->server_->Patch(".*", handler);
  p->server_->Delete(".*", handler);
  int port = p->server_->bind_to_any_port("127.0.0.1");
  if (port <= 0) return absl::UnavailableError("fault proxy: cannot bind a port");
  p->host_ = absl::StrCat("127.0.0.1:", port);
  p->thread_ = std::thread([raw = p.get()] { raw->server_->listen_after_bind(); });
  return p;
}

FaultProxy::~FaultProxy() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void FaultProxy::Set(const Faults& faults) {
  MutexLock l(&mu_);
  faults_ = faults;
}

void FaultProxy::Handle(const httplib::Request& req, httplib::Response& res) {
  // The registry's answer to a Range is passed on as it is; httplib must not
  // slice it again for the request's own Range.
  const_cast<httplib::Request&>(req).ranges.clear();
  const bool blob_get = req.method == "GET" && absl::StrContains(req.path, "/blobs/");
  Faults f;
  {
    MutexLock l(&mu_);
    if (faults_.busy > 0) {
      bool too_many = faults_.busy % 2 == 0;
      --faults_.busy;
      busy_answered_++;
      res.status = too_many ? 429 : 503;
      res.set_header("Retry-After", "1");
      res.set_content(R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})",
                      "application/json");
      return;
    }
    f = faults_;
  }
  const bool manifest = absl::StrContains(req.path, "/manifests/");
  if (manifest && f.manifest_status != 0) {
    res.status = f.manifest_status;
    res.set_content(R"({"errors":[{"code":"DENIED","message":"this proxy says no"}]})",
                    "application/json");
    return;
  }
  httplib::Headers headers;
  for (const auto& [name, value] : req.headers) {
    if (Hop(name)) continue;
    if (f.ignore_range && absl::EqualsIgnoreCase(name, "range")) continue;
    headers.emplace(name, value);
  }
  httplib::Client upstream(absl::StrCat("http://", upstream_));
  upstream.set_read_timeout(60, 0);
  std::string type = req.get_header_value("Content-Type");
  std::string sent = req.body;
  bool cut = false;
  if (req.method == "PATCH" && f.upload_drops > 0 && f.upload_cut_at >= 0 &&
      static_cast<int64_t>(sent.size()) > f.upload_cut_at) {
    MutexLock l(&mu_);
    if (faults_.upload_drops > 0) {
      --faults_.upload_drops;
      cut = true;
    }
  }
  if (cut) {
    // What a dropped connection leaves: the first bytes, as a shorter chunk.
    std::string range = req.get_header_value("Content-Range");
    int64_t start = std::atoll(range.substr(0, range.find('-')).c_str());
    sent.resize(static_cast<size_t>(f.upload_cut_at));
    for (auto& [name, value] : headers) {
      if (absl::EqualsIgnoreCase(name, "content-range")) {
        value = absl::StrCat(start, "-", start + f.upload_cut_at - 1);
      }
    }
    uploads_cut_++;
    if (f.upload_cut_at == 0) {
      res.status = 502;
      return;
    }
  }
  if (req.method == "POST" && absl::StrContains(req.path, "/blobs/uploads/")) upload_sessions_++;
  httplib::Result r = req.method == "HEAD"    ? upstream.Head(req.target, headers)
                      : req.method == "GET"   ? upstream.Get(req.target, headers)
                      : req.method == "POST"  ? upstream.Post(req.target, headers, sent, type)
                      : req.method == "PUT"   ? upstream.Put(req.target, headers, sent, type)
                      : req.method == "PATCH" ? upstream.Patch(req.target, headers, sent, type)
                                              : upstream.Delete(req.target, headers);
  if (!r || cut) {
    res.status = 502;
    return;
  }
  res.status = r->status;
  for (const auto& [name, value] : r->headers) {
    if (Hop(name)) continue;
    // Upload sessions go on through the proxy, not around it.
    std::string v = value;
    if (absl::EqualsIgnoreCase(name, "location")) {
      absl::StrReplaceAll({{absl::StrCat("//", upstream_), absl::StrCat("//", host_)}}, &v);
    }
    res.headers.emplace(name, v);
  }
  if (!blob_get || (r->status != 200 && r->status != 206)) {
    res.body = r->body;
    if (manifest && f.manifest_padding > 0) {
      res.body.append(static_cast<size_t>(f.manifest_padding), ' ');
    }
    return;
  }
  blob_requests_++;
  auto body = std::make_shared<std::string>(std::move(r->body));
  if (f.corrupt && !body->empty()) (*body)[body->size() / 2] ^= 0x5a;
  int64_t drop_after = -1;
  if (f.drops > 0 && f.drop_after < static_cast<int64_t>(body->size())) {
    MutexLock l(&mu_);
    if (faults_.drops > 0) {
      --faults_.drops;
      drop_after = f.drop_after;
    }
  }
  const int64_t rate = f.bytes_per_second;
  res.set_content_provider(
      body->size(), r->get_header_value("Content-Type"),
      [this, body, drop_after, rate](size_t offset, size_t length, httplib::DataSink& sink) {
        // Slow rates send small pieces often (down to a byte a second), as a
        // dripping server does, rather than 64 KiB after a long silence.
        const size_t chunk =
            rate > 0 ? std::clamp<size_t>(static_cast<size_t>(rate / 8), 1, 64 << 10) : 64 << 10;
        size_t n = std::min(chunk, length);
        if (drop_after >= 0 && static_cast<int64_t>(offset + n) > drop_after) {
          n = static_cast<size_t>(std::max<int64_t>(0, drop_after - static_cast<int64_t>(offset)));
          if (n > 0 && sink.write(body->data() + offset, n)) blob_bytes_ += n;
          return false;  // the connection drops here
        }
        if (rate > 0) absl::SleepFor(absl::Seconds(static_cast<double>(n) / rate));
        if (!sink.write(body->data() + offset, n)) return false;
        blob_bytes_ += n;
        return true;
      });
}

}  // namespace strata::testing
