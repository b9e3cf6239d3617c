// A real registry for tests: Debian's docker-registry (distribution 2.8) on
// 127.0.0.1 at a free port, storing under a temp directory, plain HTTP.
// Images go in with skopeo, as users push them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace strata::testing {

// A loopback port nothing uses now, below the kernel's ephemeral range: a
// port the kernel picked (port 0) may be handed to another test's outgoing
// connection before the server that was to listen there binds it.
absl::StatusOr<int> FreeLoopbackPort();

class RegistryProcess {
 public:
  struct Options {
    // Where it listens. Default: 127.0.0.1 at a free port.
    std::string address = "127.0.0.1";
    int port = 0;
    // Run inside this network namespace (`ip netns exec`). Default: none.
    std::string netns;
    // TLS: the server's certificate and key (PEM files). Default: plain HTTP.
    std::string tls_cert;
    std::string tls_key;
    // Basic auth against an htpasswd file (bcrypt). Default: none.
    std::string htpasswd;
    // Token auth: where clients get tokens, the service and issuer they
    // name, and the certificates tokens are signed under. Default: none.
    std::string token_realm;
    std::string token_service;
    std::string token_issuer;
    std::string token_certs;
    // "user:password" for PushOciArchive, when the registry wants them.
    std::string push_credentials;
  };
  // Starts the registry with its data under `dir` and waits until it answers.
  static absl::StatusOr<std::unique_ptr<RegistryProcess>> Start(const std::string& dir,
                                                                const Options& options);
  static absl::StatusOr<std::unique_ptr<RegistryProcess>> Start(const std::string& dir) {
    return Start(dir, Options());
  }
  ~RegistryProcess();  // SIGKILL

  // "127.0.0.1:<port>"
  const std::string& host() const { return host_; }
  const std::string& log_path() const { return log_; }

  // Copies an OCI archive into the registry as `repo_tag` ("library/busybox:latest").
  absl::Status PushOciArchive(const std::string& archive, const std::string& repo_tag) const;

  // Blob bytes the registry has sent, from its access log (each request is
  // logged when it ends, a dropped one with what it sent).
  int64_t BlobBytesServed() const;

 private:
  pid_t pid_ = -1;
  std::string host_;
  std::string push_credentials_;
  std::string log_;
};

}  // namespace strata::testing
