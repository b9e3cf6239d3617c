#include "registry/registry_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_util.h"
#include "layerstore/oci.h"
#include "registry/auth_challenge.h"

namespace strata::registry {
namespace {

constexpr int kMaxRedirects = 5;
constexpr absl::Duration kMaxRetryAfter = absl::Seconds(10);

// "https://host:5000/path?q" -> "host:5000"
std::string HostOf(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) url = url.substr(scheme + 3);
  return std::string(url.substr(0, url.find_first_of("/?#")));
}

// A Location header made absolute against the URL it answered.
std::string Resolve(const std::string& base, const std::string& location) {
  if (absl::StrContains(location, "://")) return location;
  size_t scheme = base.find("://");
  size_t path = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string origin = path == std::string::npos ? base : base.substr(0, path);
  if (absl::StartsWith(location, "/")) return origin + location;
  return origin + "/" + location;
}

bool Retryable(long status) { return status == 429 || status >= 500; }

// How long to wait before attempt `n` (from 1): Retry-After if the answer had one.
absl::Duration Backoff(absl::Duration first, int n, const HttpResponse* response) {
  int64_t seconds = 0;
  if (response != nullptr && absl::SimpleAtoi(response->Header("retry-after"), &seconds)) {
    return std::min(absl::Seconds(std::max<int64_t>(seconds, 0)), kMaxRetryAfter);
  }
  return first * (1 << std::min(n - 1, 6));
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      absl::StrAppend(&out, "%", absl::BytesToHexString(absl::string_view(&c, 1)));
    }
  }
  return out;
}

}  // namespace

const char* const kManifestMediaTypes[] = {
    layerstore::media_type::kOciIndex,
    layerstore::media_type::kOciManifest,
    layerstore::media_type::kDockerManifestList,
    layerstore::media_type::kDockerManifest,
    nullptr,
};

absl::Status StatusFromResponse(const HttpResponse& response, absl::string_view what) {
  std::string message;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body["errors"].is_array() && !body["errors"].empty() &&
      body["errors"][0].is_object()) {
    const nlohmann::json& e = body["errors"][0];
    message = absl::StrCat(e.value("code", ""), ": ", e.value("message", ""));
  } else {
    message =
        std::string(absl::StripAsciiWhitespace(absl::string_view(response.body).substr(0, 200)));
  }
  std::string text = absl::StrCat(what, ": registry answered ", response.status,
                                  message.empty() ? "" : absl::StrCat(" (", message, ")"));
  switch (response.status) {
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 416:
      return absl::OutOfRangeError(text);
    default:
      if (Retryable(response.status)) return absl::UnavailableError(text);
      return absl::FailedPreconditionError(text);
  }
}

std::string SourceLabel(const std::string& registry_host) {
  return absl::StrCat("containerd.io/distribution.source.", registry_host);
}

RegistryClient::RegistryClient(HttpClient* http, Options options)
    : http_(http), options_(std::move(options)), credentials_(options_.credentials) {}

void RegistryClient::SetCredentials(Credentials credentials) {
  MutexLock l(&mu_);
  credentials_ = std::move(credentials);
  tokens_.clear();
}

absl::StatusOr<std::string> RegistryClient::Authorize(const Endpoint& endpoint, const ImageRef& ref,
                                                      const std::vector<std::string>& scopes,
                                                      const HttpResponse& unauthorized) {
  std::optional<Credential> cred;
  {
    MutexLock l(&mu_);
    cred = credentials_.For(ref.domain);
    if (!cred) cred = credentials_.For(endpoint.host);
  }
  std::string basic;
  if (cred && !cred->username.empty()) {
    basic = "Basic " + absl::Base64Escape(absl::StrCat(cred->username, ":", cred->password));
  }
  absl::StatusOr<std::vector<AuthChallenge>> challenges =
      ParseAuthChallenges(unauthorized.Header("www-authenticate"));
  if (!challenges.ok()) return StatusFromResponse(unauthorized, ref.Name());
  for (const AuthChallenge& c : *challenges) {
    if (c.scheme == "basic") {
      if (basic.empty()) return StatusFromResponse(unauthorized, ref.Name());
      return basic;
    }
    if (c.scheme != "bearer") continue;
    auto realm = c.params.find("realm");
    if (realm == c.params.end()) continue;
    std::string url = realm->second;
    const char* sep = absl::StrContains(url, "?") ? "&" : "?";
    for (const std::string& scope : scopes) {
      absl::StrAppend(&url, sep, "scope=", UrlEncode(scope));
      sep = "&";
    }
    if (auto service = c.params.find("service"); service != c.params.end()) {
      absl::StrAppend(&url, "&service=", UrlEncode(service->second));
    }
    HttpRequest req;
    req.url = url;
    req.tls = {endpoint.ca_files, endpoint.skip_verify};
    if (!basic.empty()) req.headers.emplace_back("Authorization", basic);
    STRATA_ASSIGN_OR_RETURN(HttpResponse answer, http_->Send(req));
    if (answer.status != 200) return StatusFromResponse(answer, "token server");
    nlohmann::json token = nlohmann::json::parse(answer.body, nullptr, false);
    std::string value;
    if (token.is_object()) value = token.value("token", token.value("access_token", ""));
    if (value.empty()) return absl::UnauthenticatedError("token server: answer without a token");
    return "Bearer " + value;
  }
  return StatusFromResponse(unauthorized, ref.Name());
}

Endpoint RegistryClient::AsReached(const Endpoint& configured) {
  Endpoint e = configured;
  if (e.http_fallback) {
    MutexLock l(&mu_);
    if (plain_http_hosts_.count(e.host)) e.scheme = "http";
  }
  return e;
}

absl::StatusOr<HttpResponse> RegistryClient::FetchFrom(const Endpoint& configured,
                                                       const ImageRef& ref, const Fetch& fetch) {
  Endpoint endpoint = AsReached(configured);
  std::vector<std::string> scopes = fetch.scopes;
  if (scopes.empty()) scopes.push_back(absl::StrCat("repository:", ref.repository, ":pull"));
  const std::string token_key = absl::StrCat(endpoint.host, " ", absl::StrJoin(scopes, " "));
  std::string authorization;
  {
    MutexLock l(&mu_);
    if (auto it = tokens_.find(token_key); it != tokens_.end()) authorization = it->second;
  }
  bool authorized_once = false;
  int attempt = 0;
  int redirects = 0;
  std::string url = fetch.url.empty() ? endpoint.BaseUrl() + fetch.path : fetch.url;
  const std::string endpoint_host = HostOf(url);
  while (true) {
    HttpRequest req;
    req.method = fetch.method;
    req.url = url;
    req.body = fetch.body;
    req.range_from = fetch.range_from;
    req.tls = {endpoint.ca_files, endpoint.skip_verify};
    req.headers = fetch.headers;
    for (const auto& h : endpoint.headers) req.headers.push_back(h);
    // Credentials go only to the endpoint itself, never to where it redirects.
    if (!authorization.empty() && HostOf(url) == endpoint_host) {
      req.headers.emplace_back("Authorization", authorization);
    }
    absl::StatusOr<HttpResponse> answer = http_->Send(req, fetch.sink);
    if (!answer.ok() && endpoint.http_fallback && endpoint.scheme == "https" &&
        absl::IsUnavailable(answer.status()) &&
        absl::StartsWith(answer.status().message(), kTlsHandshakeFailed) &&
        absl::StartsWith(url, "https://" + endpoint.host + "/")) {
      // A local registry that does not answer TLS: plain HTTP, from now on.
      endpoint.scheme = "http";
      url = "http://" + url.substr(std::string("https://").size());
      MutexLock l(&mu_);
      plain_http_hosts_.insert(endpoint.host);
      continue;
    }
    ++attempt;
    if (!answer.ok()) {
      // Refused or reset before any byte reached the sink: try again.
      if (absl::IsUnavailable(answer.status()) && attempt < options_.attempts &&
          fetch.sink == nullptr && fetch.retry) {
        absl::SleepFor(Backoff(options_.first_backoff, attempt, nullptr));
        continue;
      }
      return answer.status();
    }
    long status = answer->status;
    if (status >= 300 && status < 400 && !answer->Header("location").empty()) {
      if (++redirects > kMaxRedirects) return StatusFromResponse(*answer, "too many redirects");
      url = Resolve(url, answer->Header("location"));
      continue;
    }
    if (status == 401 && !authorized_once) {
      authorized_once = true;
      STRATA_ASSIGN_OR_RETURN(authorization, Authorize(endpoint, ref, scopes, *answer));
      MutexLock l(&mu_);
      tokens_[token_key] = authorization;
      continue;
    }
    if (Retryable(status) && attempt < options_.attempts && fetch.retry) {
      absl::SleepFor(Backoff(options_.first_backoff, attempt, &*answer));
      continue;
    }
    return answer;
  }
}

absl::StatusOr<HttpResponse> RegistryClient::FetchFromEndpoints(const ImageRef& ref,
                                                                Capability capability,
                                                                const Fetch& fetch) {
  STRATA_ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints,
                          ResolveEndpoints(options_.hosts_dir, ref.domain));
  absl::Status last = absl::NotFoundError(
      absl::StrCat(ref.domain, ": no endpoint in the hosts configuration can serve this"));
  for (const Endpoint& e : endpoints) {
    if (!e.Can(capability)) continue;
    absl::StatusOr<HttpResponse> answer = FetchFrom(e, ref, fetch);
    if (answer.ok() && answer->status >= 200 && answer->status < 300) return answer;
    absl::Status s = answer.ok() ? StatusFromResponse(*answer, ref.String()) : answer.status();
    // The next endpoint (a mirror's upstream) may have it or let us in.
    // As reached: http:// for a local registry found to speak plain HTTP.
    log::Warn("registry endpoint failed",
              {{"endpoint", AsReached(e).BaseUrl()}, {"err", s.ToString()}});
    last = s;
  }
  return last;
}

absl::StatusOr<RegistryClient::Manifest> RegistryClient::GetManifest(const ImageRef& ref,
                                                                     const std::string& object) {
  bool by_digest = absl::StartsWith(object, "sha256:");
  std::vector<std::string> accept;
  for (const char* const* t = kManifestMediaTypes; *t != nullptr; ++t) accept.emplace_back(*t);
  Fetch fetch;
  fetch.path = absl::StrCat("/", ref.repository, "/manifests/", object);
  fetch.headers.emplace_back("Accept", absl::StrJoin(accept, ", "));
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer,
                          FetchFromEndpoints(ref, by_digest ? kPull : kResolve, fetch));
  if (static_cast<int64_t>(answer.body.size()) > options_.max_manifest_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ref.String(), ": manifest over ", options_.max_manifest_bytes, " bytes"));
  }
  Manifest m;
  m.bytes = std::move(answer.body);
  m.media_type = answer.Header("content-type");
  m.media_type = m.media_type.substr(0, m.media_type.find(';'));
  m.digest = layerstore::Sha256Of(m.bytes);
  if (by_digest && m.digest.str() != object) {
    return absl::DataLossError(
        absl::StrCat(ref.Name(), "@", object, ": the registry sent ", m.digest.str(), " instead"));
  }
  return m;
}

absl::Status RegistryClient::GetBlob(
    const ImageRef& ref, const layerstore::Digest& digest, int64_t offset,
    const std::function<absl::Status(int64_t from)>& start,
    const std::function<absl::Status(const char* data, size_t n)>& data,
    const Cancellation* cancel) {
  BodySink sink;
  sink.cancel = cancel;
  // 206: the range asked for; 200: the whole blob from its first byte.
  sink.start = [&](long status) { return start(status == 206 ? offset : 0); };
  sink.data = data;
  Fetch fetch;
  fetch.path = absl::StrCat("/", ref.repository, "/blobs/", digest.str());
  fetch.range_from = offset > 0 ? offset : -1;
  fetch.sink = &sink;
  return FetchFromEndpoints(ref, kPull, fetch).status();
}

absl::StatusOr<HttpResponse> RegistryClient::PushRequest(const ImageRef& ref, Fetch fetch) {
  STRATA_ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints,
                          ResolveEndpoints(options_.hosts_dir, ref.domain));
  for (const Endpoint& e : endpoints) {
    if (!e.Can(kPush)) continue;
    if (fetch.scopes.empty()) {
      fetch.scopes.push_back(absl::StrCat("repository:", ref.repository, ":pull,push"));
    }
    STRATA_ASSIGN_OR_RETURN(HttpResponse answer, FetchFrom(e, ref, fetch));
    // Upload sessions live at their Location: made absolute here, once.
    for (auto& [name, value] : answer.headers) {
      if (name == "location") value = Resolve(AsReached(e).BaseUrl(), value);
    }
    return answer;
  }
  return absl::FailedPreconditionError(
      absl::StrCat(ref.domain, ": no endpoint in the hosts configuration takes pushes"));
}

absl::StatusOr<bool> RegistryClient::HasBlob(const ImageRef& ref,
                                             const layerstore::Digest& digest) {
  Fetch fetch;
  fetch.method = "HEAD";
  fetch.path = absl::StrCat("/", ref.repository, "/blobs/", digest.str());
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status == 200) return true;
  if (answer.status == 404) return false;
  return StatusFromResponse(answer, absl::StrCat(ref.Name(), "@", digest.str()));
}

absl::StatusOr<std::string> RegistryClient::StartUpload(const ImageRef& ref,
                                                        const layerstore::Digest& mount,
                                                        const std::string& from) {
  Fetch fetch;
  fetch.method = "POST";
  fetch.path = absl::StrCat("/", ref.repository, "/blobs/uploads/");
  if (!mount.empty() && !from.empty()) {
    absl::StrAppend(&fetch.path, "?mount=", mount.str(), "&from=", UrlEncode(from));
    fetch.scopes = {absl::StrCat("repository:", ref.repository, ":pull,push"),
                    absl::StrCat("repository:", from, ":pull")};
  }
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status == 201 && !mount.empty()) return std::string();  // mounted
  if (answer.status != 202 || answer.Header("location").empty()) {
    return StatusFromResponse(answer, absl::StrCat(ref.Name(), ": start an upload"));
  }
  return answer.Header("location");
}

absl::StatusOr<std::string> RegistryClient::UploadChunk(const ImageRef& ref, const std::string& url,
                                                        int64_t offset, const RequestBody& body) {
  Fetch fetch;
  fetch.method = "PATCH";
  fetch.url = url;
  fetch.body = &body;
  fetch.retry = false;
  fetch.headers = {{"Content-Type", "application/octet-stream"},
                   {"Content-Range", absl::StrCat(offset, "-", offset + body.size - 1)}};
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status != 202) {
    return StatusFromResponse(answer, absl::StrCat(ref.Name(), ": upload"));
  }
  std::string next = answer.Header("location");
  return next.empty() ? url : next;
}

absl::StatusOr<std::pair<int64_t, std::string>> RegistryClient::UploadOffset(
    const ImageRef& ref, const std::string& url) {
  Fetch fetch;
  fetch.url = url;
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status != 204) {
    return StatusFromResponse(answer, absl::StrCat(ref.Name(), ": upload status"));
  }
  // "Range: 0-<last>" (distribution sends "0-0" for an empty upload too).
  int64_t held = 0;
  std::string range = answer.Header("range");
  size_t dash = range.find('-');
  int64_t last = 0;
  if (dash != std::string::npos && absl::SimpleAtoi(range.substr(dash + 1), &last)) {
    held = last + 1;
  }
  if (held == 1 && absl::StartsWith(range, "0-0")) {
    // Ambiguous: empty or one byte. The caller resends from 0; PATCH
    // offsets that do not match are refused (416), which says which.
    held = 0;
  }
  std::string next = answer.Header("location");
  return std::make_pair(held, next.empty() ? url : next);
}

absl::Status RegistryClient::FinishUpload(const ImageRef& ref, const std::string& url,
                                          const layerstore::Digest& digest) {
  Fetch fetch;
  fetch.method = "PUT";
  fetch.url = absl::StrCat(url, absl::StrContains(url, "?") ? "&" : "?", "digest=", digest.str());
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status != 201) {
    return StatusFromResponse(answer, absl::StrCat(ref.Name(), "@", digest.str()));
  }
  return absl::OkStatus();
}

absl::Status RegistryClient::PutManifest(const ImageRef& ref, const std::string& object,
                                         const std::string& media_type, const std::string& bytes) {
  Fetch fetch;
  fetch.method = "PUT";
  fetch.path = absl::StrCat("/", ref.repository, "/manifests/", object);
  RequestBody body = MemoryBody(bytes);
  fetch.body = &body;
  fetch.headers = {{"Content-Type", media_type}};
  STRATA_ASSIGN_OR_RETURN(HttpResponse answer, PushRequest(ref, fetch));
  if (answer.status != 201) {
    return StatusFromResponse(answer, absl::StrCat(ref.Name(), ":", object));
  }
  return absl::OkStatus();
}

}  // namespace strata::registry
