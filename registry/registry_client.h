// The distribution API (v2) as a client: manifests and blobs of one
// repository, from the endpoints hosts.toml gives for its registry (mirrors
// first, then the upstream), with the token flow (a 401's Bearer challenge:
// realm, service, scope; anonymous or with config.json credentials) and
// Basic auth, redirects followed without carrying Authorization to another
// host, and retries with backoff for 429 and 5xx (honouring Retry-After) and
// refused connections. HTTP answers become statuses here: 401
// UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, what still fails
// after the retries UNAVAILABLE, each with the registry's own message.
//
// Thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "layerstore/digest.h"
#include "registry/credentials.h"
#include "registry/hosts_config.h"
#include "registry/http_client.h"
#include "registry/image_ref.h"

namespace strata::registry {

// The manifest and index media types a pull accepts (OCI and Docker v2).
extern const char* const kManifestMediaTypes[];

class RegistryClient {
 public:
  struct Options {
    std::string hosts_dir;    // containerd's hosts.toml layout; empty: none
    Credentials credentials;  // config.json's auths
    int attempts = 4;         // per endpoint, for 429, 5xx and refused connections
    absl::Duration first_backoff = absl::Milliseconds(200);
    int64_t max_manifest_bytes = 4 << 20;
  };

  // `http` must outlive the client.
  RegistryClient(HttpClient* http, Options options);

  // Replaces the credentials (a re-read config.json) for calls from now on;
  // tokens fetched with the old ones are dropped.
  void SetCredentials(Credentials credentials);

  struct Manifest {
    std::string media_type;
    std::string bytes;
    layerstore::Digest digest;  // of `bytes`; checked against a digest the reference pins
  };
  // The manifest or index named by `object` (a tag or a digest) in `ref`'s
  // repository. Over max_manifest_bytes: RESOURCE_EXHAUSTED.
  absl::StatusOr<Manifest> GetManifest(const ImageRef& ref, const std::string& object);

  // Streams blob `digest` from byte `offset`: `start(from)` before the first
  // byte, `from` being `offset`, or 0 when the server ignored the Range
  // request (the caller then starts over), then `data` per chunk.
  absl::Status GetBlob(const ImageRef& ref, const layerstore::Digest& digest, int64_t offset,
                       const std::function<absl::Status(int64_t from)>& start,
                       const std::function<absl::Status(const char* data, size_t n)>& data,
                       const Cancellation* cancel = nullptr);

  // Pushing, to the first endpoint with the push capability (the upstream,
  // as a rule: mirrors do not take pushes).
  //
  // Whether `ref`'s repository has blob `digest` (HEAD).
  absl::StatusOr<bool> HasBlob(const ImageRef& ref, const layerstore::Digest& digest);
  // An upload session's URL, or "" if the registry mounted `mount` from
  // repository `from` instead (both optional: a plain upload).
  absl::StatusOr<std::string> StartUpload(const ImageRef& ref, const layerstore::Digest& mount,
                                          const std::string& from);
  // Sends `body` as the upload's bytes from `offset` (PATCH with
  // Content-Range); the URL to go on with. Not retried here: after an error
  // the caller asks UploadOffset where to go on from.
  absl::StatusOr<std::string> UploadChunk(const ImageRef& ref, const std::string& url,
                                          int64_t offset, const RequestBody& body);
  // Bytes the upload at `url` holds (its Range), and the URL to go on with.
  absl::StatusOr<std::pair<int64_t, std::string>> UploadOffset(const ImageRef& ref,
                                                               const std::string& url);
  // Completes the upload at `url` as blob `digest` (PUT).
  absl::Status FinishUpload(const ImageRef& ref, const std::string& url,
                            const layerstore::Digest& digest);
  // Stores a manifest or index under `object` (a tag or its digest).
  absl::Status PutManifest(const ImageRef& ref, const std::string& object,
                           const std::string& media_type, const std::string& bytes);

 private:
  struct Fetch {
    std::string method = "GET";
    std::string path;  // below the API root: "/<repo>/manifests/<tag>"
    std::string url;   // absolute (an upload's Location): instead of `path`
    std::vector<std::pair<std::string, std::string>> headers;
    int64_t range_from = -1;
    const BodySink* sink = nullptr;
    const RequestBody* body = nullptr;
    // Token scopes: "repository:<name>:pull" when empty.
    std::vector<std::string> scopes;
    // Refused or reset connections and 5xx answers are tried again.
    bool retry = true;
  };
  // `configured` with the scheme it is reached by (plain HTTP for a local
  // host found not to answer TLS).
  Endpoint AsReached(const Endpoint& configured);
  // One push request to the first endpoint that takes pushes.
  absl::StatusOr<HttpResponse> PushRequest(const ImageRef& ref, Fetch fetch);
  // One fetch from the first endpoint with `capability` that answers;
  // NOT_FOUND only if none has it.
  absl::StatusOr<HttpResponse> FetchFromEndpoints(const ImageRef& ref, Capability capability,
                                                  const Fetch& fetch);
  // One fetch from one endpoint: auth, redirects and retries.
  absl::StatusOr<HttpResponse> FetchFrom(const Endpoint& endpoint, const ImageRef& ref,
                                         const Fetch& fetch);
  // Answers a 401: a token from the Bearer challenge's realm, or Basic
  // credentials; the Authorization header value to retry with.
  absl::StatusOr<std::string> Authorize(const Endpoint& endpoint, const ImageRef& ref,
                                        const std::vector<std::string>& scopes,
                                        const HttpResponse& unauthorized);

  HttpClient* const http_;
  const Options options_;
  Mutex mu_;
  // Hosts with http_fallback found not to answer TLS.
  std::set<std::string> plain_http_hosts_ ABSL_GUARDED_BY(mu_);
  // Authorization header values by endpoint host, repository and scopes.
  std::map<std::string, std::string> tokens_ ABSL_GUARDED_BY(mu_);
  // Starts as options_.credentials; SIGHUP replaces it.
  Credentials credentials_ ABSL_GUARDED_BY(mu_);
};

// The label that says where a blob came from, as containerd writes it:
// containerd.io/distribution.source.<registry host> = comma-separated
// repositories. Pushes mount blobs from those repositories.
std::string SourceLabel(const std::string& registry_host);

// The status for a registry's non-2xx answer, with its message (the
// distribution error body's first message, else the start of the body).
absl::Status StatusFromResponse(const HttpResponse& response, absl::string_view what);

}  // namespace strata::registry
