// A token server of the test's own for registry token auth (the Bearer
// flow): GET /token?service=...&scope=... answers {"token": JWT}, the JWT
// signed (RS256) by a key whose self-signed certificate travels in its x5c
// header and is the registry's rootcertbundle. With a user configured, the
// request's Basic credentials must match; anonymous requests get pull only.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace strata::testing {

class TokenServer {
 public:
  struct Options {
    std::string dir;      // where the key and certificate are made
    std::string service;  // the registry's service name
    std::string issuer;
    std::string user;  // empty: anyone gets what they ask for
    std::string password;
  };
  static absl::StatusOr<std::unique_ptr<TokenServer>> Start(const Options& options);
  ~TokenServer();

  std::string realm() const;  // http://127.0.0.1:<port>/token
  // The certificate the registry trusts tokens under (PEM file).
  const std::string& cert_path() const { return cert_; }
  int tokens_issued() const { return issued_.load(); }
  int refused() const { return refused_.load(); }

 private:
  TokenServer() = default;
  Options options_;
  std::string key_pem_;
  std::string cert_der_b64_;
  std::string cert_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<int> issued_{0};
  std::atomic<int> refused_{0};
};

}  // namespace strata::testing
