// Registry credentials from Docker's config.json (`auths`): the file a
// `docker login` (or `podman login --authfile`) writes, so one login serves
// every tool. Each entry is keyed by registry host (Docker also writes
// "https://index.docker.io/v1/" for Docker Hub) and holds "auth" (base64 of
// user:password), or "username" and "password", or an "identitytoken" (an
// OAuth refresh token for the token server).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace strata::registry {

struct Credential {
  std::string username;
  std::string password;
  std::string identity_token;
};

class Credentials {
 public:
  Credentials() = default;  // none: every registry anonymously
  // Parses a config.json's text; InvalidArgument (naming the entry) if it is
  // not JSON or an "auth" is not base64 of user:password.
  static absl::StatusOr<Credentials> Parse(absl::string_view json);
  // Reads and parses `path`; a missing file is no credentials.
  static absl::StatusOr<Credentials> Load(const std::string& path);

  // The credential for `host` ("docker.io", "localhost:5000"), if any.
  std::optional<Credential> For(absl::string_view host) const;

 private:
  std::map<std::string, Credential> by_host_;
};

}  // namespace strata::registry
