#include "registry/registry_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/host_port.h"
#include "common/log.h"
#include "layerstore/image_ref.h"
#include "layerstore/oci.h"
#include "layerstore/reference.h"

namespace strata::registry {
namespace {

using layerstore::Digest;

void Error(httplib::Response& res, int status, const std::string& code,
           const std::string& message) {
  res.status = status;
  nlohmann::json body = {{"errors", {{{"code", code}, {"message", message}}}}};
  res.set_content(body.dump(), "application/json");
}

// The API's own header on every answer.
void ApiHeader(httplib::Response& res) {
  res.set_header("Docker-Distribution-API-Version", "registry/2.0");
}

// Whether a Range header (RFC 9110: "bytes=" then first-last, first- or
// -suffix, comma separated) selects any byte of a blob of `size` bytes; a
// request without one does.
bool Satisfiable(const std::string& header, int64_t size) {
  absl::string_view spec = header;
  if (header.empty() || !absl::ConsumePrefix(&spec, "bytes=")) return true;  // not ours: ignored
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    part = absl::StripAsciiWhitespace(part);
    size_t dash = part.find('-');
    if (dash == absl::string_view::npos) return true;  // malformed: ignored, as RFC 9110 allows
    int64_t first = 0;
    if (dash == 0) {
      if (absl::SimpleAtoi(part.substr(1), &first) && first > 0 && size > 0) return true;
      continue;  // a suffix of nothing
    }
    if (!absl::SimpleAtoi(part.substr(0, dash), &first)) return true;
    if (first < size) return true;
  }
  return false;
}

// Answers 404 NAME_INVALID, and says so, unless the reference grammar
// accepts `name` as a repository ("library/busybox").
bool RefusedName(const std::string& name, httplib::Response& res) {
  if (layerstore::ValidateImageName(name).ok() && name.find(':') == std::string::npos &&
      name.find('@') == std::string::npos) {
    return false;
  }
  Error(res, 404, "NAME_INVALID", absl::StrCat("\"", name, "\" is not a repository name"));
  return true;
}

// The stored repositories a request for `name` may mean: containerd asking a
// mirror says which registry (?ns=); a bare path is also docker.io's.
std::vector<std::string> CandidateNames(const httplib::Request& req, const std::string& name) {
  std::vector<std::string> names;
  if (req.has_param("ns")) names.push_back(absl::StrCat(req.get_param_value("ns"), "/", name));
  names.push_back(name);
  names.push_back("docker.io/" + name);
  return names;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryServer>> RegistryServer::Start(
    const std::string& address, const layerstore::ContentStore* content,
    const layerstore::ImageStore* images) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry listen address ", parsed.status().message()));
  }
  const std::string& host = parsed->host;
  const int port = parsed->port;
  std::unique_ptr<RegistryServer> s(new RegistryServer());
  s->content_ = content;
  s->images_ = images;
  s->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *s->server_;
  RegistryServer* raw = s.get();
  // httplib answers HEAD from the GET handlers, without the body.
  http.Get("/v2/?", [](const httplib::Request&, httplib::Response& res) {
    ApiHeader(res);
    res.set_content("{}", "application/json");
  });
  // Writes are refused before any body is read.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD")
      return httplib::Server::HandlerResponse::Unhandled;
    ApiHeader(res);
    res.set_header("Allow", "GET, HEAD");
    Error(res, 405, "UNSUPPORTED", "this registry is read-only");
    return httplib::Server::HandlerResponse::Handled;
  });
  http.Get("/v2/_catalog",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Catalog(req, res); });
  http.Get(R"(/v2/(.+)/tags/list)",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Tags(req, res); });
  http.Get(R"(/v2/(.+)/manifests/([^/]+))",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Manifest(req, res); });
  http.Get(R"(/v2/(.+)/blobs/([^/]+))",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Blob(req, res); });
  // httplib's default is SO_REUSEPORT, which would let a second daemon
  // share the port and split the requests between two stores: plain
  // SO_REUSEADDR, so a taken port is an error.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("registry listen address ", address, ": cannot listen there"));
  }
  s->port_ = bound;
  s->thread_ = std::thread([raw] { raw->server_->listen_after_bind(); });
  return s;
}

RegistryServer::~RegistryServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void RegistryServer::Manifest(const httplib::Request& req, httplib::Response& res) const {
  ApiHeader(res);
  const std::string name = req.matches[1];
  const std::string reference = req.matches[2];
  if (RefusedName(name, res)) return;
  layerstore::Descriptor desc;
  if (absl::StartsWith(reference, "sha256:")) {
    absl::StatusOr<Digest> digest = Digest::Parse(reference);
    absl::StatusOr<layerstore::BlobInfo> info =
        digest.ok() ? content_->Info(*digest) : digest.status();
    if (!info.ok() || CurrentServed()->digests.count(*digest) == 0 ||
        !(layerstore::IsManifestType(info->media_type) ||
          layerstore::IsIndexType(info->media_type))) {
      return Error(res, 404, "MANIFEST_UNKNOWN",
                   absl::StrCat(name, "@", reference, " is not here"));
    }
    desc = {info->media_type, info->digest, info->size, {}, {}};
  } else {
    absl::StatusOr<layerstore::ImageInfo> image = absl::NotFoundError("");
    for (const std::string& n : CandidateNames(req, name)) {
      image = images_->Get(absl::StrCat(n, ":", reference));
      if (image.ok()) break;
    }
    if (!image.ok()) {
      return Error(res, 404, "MANIFEST_UNKNOWN",
                   absl::StrCat(name, ":", reference, " is not here"));
    }
    desc = image->target;
  }
  absl::StatusOr<std::string> bytes = images_->ReadJsonBlob(desc);
  if (!bytes.ok()) {
    return Error(res, 404, "MANIFEST_UNKNOWN", std::string(bytes.status().message()));
  }
  res.set_header("Docker-Content-Digest", desc.digest.str());
  res.set_content(std::move(*bytes), desc.media_type);
}

void RegistryServer::Blob(const httplib::Request& req, httplib::Response& res) const {
  ApiHeader(res);
  const std::string name = req.matches[1];
  if (RefusedName(name, res)) return;
  absl::StatusOr<Digest> digest = Digest::Parse(std::string(req.matches[2]));
  if (digest.ok() && CurrentServed()->digests.count(*digest) == 0) {
    digest = absl::NotFoundError("no image names it");
  }
  absl::StatusOr<layerstore::BlobInfo> info =
      digest.ok() ? content_->Info(*digest) : digest.status();
  absl::StatusOr<UniqueFd> fd = info.ok() ? content_->OpenBlob(*digest) : info.status();
  if (!fd.ok()) {
    return Error(res, 404, "BLOB_UNKNOWN",
                 absl::StrCat(std::string(req.matches[2]), " is not here"));
  }
  res.set_header("Docker-Content-Digest", digest->str());
  if (!Satisfiable(req.get_header_value("Range"), info->size)) {
    res.status = 416;
    res.set_header("Content-Range", absl::StrCat("bytes */", info->size));
    return;
  }
  // One range (bytes=N- or N-M): httplib slices what the provider gives.
  auto file = std::make_shared<UniqueFd>(std::move(*fd));
  res.set_content_provider(static_cast<size_t>(info->size), "application/octet-stream",
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                             char buf[64 << 10];
                             size_t n = std::min(length, sizeof(buf));
                             ssize_t got;
                             do {
                               got = ::pread(file->get(), buf, n, static_cast<off_t>(offset));
                             } while (got < 0 && errno == EINTR);
                             if (got <= 0)
                               return false;  // the connection drops: never a short blob as whole
                             return sink.write(buf, static_cast<size_t>(got));
                           });
}

void RegistryServer::Tags(const httplib::Request& req, httplib::Response& res) const {
  ApiHeader(res);
  const std::string name = req.matches[1];
  if (RefusedName(name, res)) return;
  std::shared_ptr<const Served> served = CurrentServed();
  for (const std::string& n : CandidateNames(req, name)) {
    auto it = served->tags.find(n);
    if (it == served->tags.end()) continue;
    nlohmann::json body = {{"name", name}, {"tags", it->second}};
    return res.set_content(body.dump(), "application/json");
  }
  Error(res, 404, "NAME_UNKNOWN", absl::StrCat(name, " is not here"));
}

void RegistryServer::Catalog(const httplib::Request&, httplib::Response& res) const {
  ApiHeader(res);
  nlohmann::json repositories = nlohmann::json::array();
  for (const auto& [repo, tags] : CurrentServed()->tags) {
    absl::string_view shown = repo;
    absl::ConsumePrefix(&shown, "docker.io/");  // as a client of docker.io's mirror asks
    repositories.push_back(std::string(shown));
  }
  res.set_content(nlohmann::json({{"repositories", repositories}}).dump(), "application/json");
}

std::shared_ptr<const RegistryServer::Served> RegistryServer::CurrentServed() const {
  const uint64_t generation = images_->generation();
  {
    MutexLock l(&served_mu_);
    if (served_ != nullptr && served_->generation == generation) return served_;
  }
  auto next = std::make_shared<Served>();
  next->generation = generation;
  (void)images_->List([&](const layerstore::ImageInfo& info) {
    next->digests.insert(info.target.digest);
    next->digests.insert(info.manifest);
    absl::StatusOr<layerstore::ImageRef> ref = layerstore::ParseImageRef(info.name);
    if (ref.ok() && !ref->tag.empty()) next->tags[ref->Name()].insert(ref->tag);
    absl::StatusOr<layerstore::ResolvedImage> img = images_->Resolve(info);
    if (!img.ok()) return true;  // unreadable: only its names are served
    next->digests.insert(img->manifest.config.digest);
    for (const layerstore::Descriptor& l : img->manifest.layers) next->digests.insert(l.digest);
    return true;
  });
  MutexLock l(&served_mu_);
  if (served_ == nullptr || served_->generation <= next->generation) served_ = next;
  return next;
}

}  // namespace strata::registry
