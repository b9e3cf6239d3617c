#include "registry/registry_server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "layerstore/oci.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryServer>> RegistryServer::Start(
    const std::string& address, const layerstore::ContentStore* content,
    const layerstore::ImageStore* images) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry listen address \"", address, "\": expected host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
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
  http.Get(R"(/v2/(.+)/manifests/([^/]+))",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Manifest(req, res); });
  http.Get(R"(/v2/(.+)/blobs/([^/]+))",
           [raw](const httplib::Request& req, httplib::Response& res) { raw->Blob(req, res); });
  auto read_only = [](const httplib::Request&, httplib::Response& res) {
    ApiHeader(res);
    Error(res, 405, "UNSUPPORTED", "this registry is read-only");
  };
  http.Post(".*", read_only);
  http.Put(".*", read_only);
  http.Patch(".*", read_only);
  http.Delete(".*", read_only);
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
  layerstore::Descriptor desc;
  if (absl::StartsWith(reference, "sha256:")) {
    absl::StatusOr<Digest> digest = Digest::Parse(reference);
    absl::StatusOr<layerstore::BlobInfo> info =
        digest.ok() ? content_->Info(*digest) : digest.status();
    if (!info.ok() || !(layerstore::IsManifestType(info->media_type) ||
                        layerstore::IsIndexType(info->media_type))) {
      return Error(res, 404, "MANIFEST_UNKNOWN",
                   absl::StrCat(name, "@", reference, " is not here"));
    }
    desc = {info->media_type, info->digest, info->size, {}, {}};
  } else {
    // containerd asking a mirror says which registry it means (?ns=).
    std::vector<std::string> names;
    if (req.has_param("ns")) names.push_back(absl::StrCat(req.get_param_value("ns"), "/", name));
    names.push_back(name);
    names.push_back("docker.io/" + name);
    absl::StatusOr<layerstore::ImageInfo> image = absl::NotFoundError("");
    for (const std::string& n : names) {
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
  absl::StatusOr<Digest> digest = Digest::Parse(std::string(req.matches[2]));
  absl::StatusOr<layerstore::BlobInfo> info =
      digest.ok() ? content_->Info(*digest) : digest.status();
  absl::StatusOr<UniqueFd> fd = info.ok() ? content_->OpenBlob(*digest) : info.status();
  if (!fd.ok()) {
    return Error(res, 404, "BLOB_UNKNOWN",
                 absl::StrCat(std::string(req.matches[2]), " is not here"));
  }
  res.set_header("Docker-Content-Digest", digest->str());
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

}  // namespace strata::registry
