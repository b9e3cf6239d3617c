// Where to reach a registry, from containerd's hosts.toml directory layout
// (DIR/<host[:port]>/hosts.toml, else DIR/_default/hosts.toml), so one
// configuration serves containerd and strata:
//
//   server = "https://registry.example"        # the upstream; last to be tried
//   [host."https://mirror.example"]            # tried first, in file order
//     capabilities = ["pull", "resolve"]       # default: pull, resolve, push
//     ca = "mirror.crt"                        # or a list; relative to the file
//     skip_verify = false
//     override_path = false                    # true: the URL's path is the API root
//     [host."https://mirror.example".header]
//       x-custom = "value"                     # or a list
//
// The top-level capabilities, ca, skip_verify, override_path and header
// apply to the server. Without a file, or without `server`, the upstream is
// https://<host> (docker.io: https://registry-1.docker.io); for localhost
// and 127.0.0.1 it is HTTPS, or plain HTTP when the host does not answer TLS,
// unless the file says otherwise.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::registry {

enum Capability : unsigned {
  kPull = 1,     // fetch blobs and manifests by digest
  kResolve = 2,  // turn a tag into a digest
  kPush = 4,
};

struct Endpoint {
  std::string scheme;    // "https" or "http"
  std::string host;      // "mirror.example:5000"
  std::string api_root;  // "/v2", or the URL's path with override_path
  unsigned capabilities = kPull | kResolve | kPush;
  std::vector<std::string> ca_files;  // absolute paths
  bool skip_verify = false;
  // HTTPS, or plain HTTP if the host does not answer TLS: localhost and
  // 127.0.0.1 when no hosts.toml configures them (as Docker and containerd).
  bool http_fallback = false;
  std::vector<std::pair<std::string, std::string>> headers;

  // scheme://host + api_root, e.g. "https://mirror.example/v2".
  std::string BaseUrl() const;
  bool Can(Capability c) const { return (capabilities & c) != 0; }
};

// The endpoints for registry `host` ("docker.io", "localhost:5000"), mirrors
// first and the upstream last, from `hosts_dir` (empty or missing: none
// configured). InvalidArgument naming the file if it cannot be read.
absl::StatusOr<std::vector<Endpoint>> ResolveEndpoints(const std::string& hosts_dir,
                                                       absl::string_view host);

// The same from one hosts.toml's text (`base_dir` resolves relative ca paths).
absl::StatusOr<std::vector<Endpoint>> ParseHostsToml(absl::string_view toml, absl::string_view host,
                                                     const std::string& base_dir);

}  // namespace strata::registry
