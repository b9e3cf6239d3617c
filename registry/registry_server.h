// strata as a registry for its peers: the distribution API (v2), read-only,
// served over plain HTTP from the store's content (every blob was verified
// against its digest when it was stored) on an address of the operator's
// choosing (stratad --registry-listen). containerd on another machine (as a
// hosts.toml mirror) or another stratad pulls from a machine that already has
// the layers.
//
//   GET|HEAD /v2/                              200
//   GET|HEAD /v2/<name>/manifests/<tag|digest> the image named <name>:<tag>
//            (or <ns>/<name>:<tag>, given containerd's ?ns= for mirrors),
//            or the stored manifest or index with that digest
//   GET|HEAD /v2/<name>/blobs/<digest>         with Range (206; 416 with
//            "Content-Range: bytes */SIZE" when it cannot be satisfied)
//   GET|HEAD /v2/<name>/tags/list              the tags of <name> here
//   GET|HEAD /v2/_catalog                      the repositories here
//
// Only what an image names now is served (its index, manifest, config and
// layers): an image deleted stops being served at once, not at the next gc.
// Anything the store lacks is an immediate 404 in the API's error form; a
// repository name that is not one, 404 NAME_INVALID; anything that would
// write, 405 (before any body is read). Blobs are served whatever repository
// name the request carries: the store is content-addressed, and a peer
// cache answers what it holds. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "layerstore/content_store.h"
#include "layerstore/image_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace strata::registry {

class RegistryServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks one) and serves until
  // destroyed. `content` and `images` must outlive the server.
  static absl::StatusOr<std::unique_ptr<RegistryServer>> Start(
      const std::string& address, const layerstore::ContentStore* content,
      const layerstore::ImageStore* images);
  ~RegistryServer();

  int port() const { return port_; }

 private:
  RegistryServer() = default;
  void Manifest(const httplib::Request& req, httplib::Response& res) const;
  void Blob(const httplib::Request& req, httplib::Response& res) const;
  void Tags(const httplib::Request& req, httplib::Response& res) const;
  void Catalog(const httplib::Request& req, httplib::Response& res) const;

  // What the images name now: every digest served, and each repository's
  // tags. Rebuilt when the image store's generation moves.
  struct Served {
    uint64_t generation = 0;
    std::set<layerstore::Digest> digests;
    std::map<std::string, std::set<std::string>> tags;  // repository -> tags
  };
  std::shared_ptr<const Served> CurrentServed() const;

  const layerstore::ContentStore* content_ = nullptr;
  const layerstore::ImageStore* images_ = nullptr;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable Mutex served_mu_;
  mutable std::shared_ptr<const Served> served_ ABSL_GUARDED_BY(served_mu_);
};

}  // namespace strata::registry
