#include "tests/token_server.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "tests/subprocess.h"

namespace strata::testing {
namespace {

using json = nlohmann::json;

std::string Base64Url(absl::string_view in) {
  std::string out;
  absl::WebSafeBase64Escape(in, &out);  // unpadded, as JWTs want
  return out;
}

// RS256: an RSA signature over sha256 of `data` with the PEM key.
absl::StatusOr<std::string> SignRs256(const std::string& key_pem, absl::string_view data) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (key == nullptr) return absl::InternalError("token server: cannot read its key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return absl::InternalError("token server: cannot sign");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return absl::InternalError("token server: cannot sign");
  }
  sig.resize(len);
  return sig;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenServer>> TokenServer::Start(const Options& options) {
  std::unique_ptr<TokenServer> t(new TokenServer());
  t->options_ = options;
  const std::string key = options.dir + "/token.key";
  t->cert_ = options.dir + "/token.crt";
  RunResult r = RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            key, "-out", t->cert_, "-days", "2", "-subj", "/CN=strata-test-token"});
  if (r.exit_code != 0) return absl::InternalError("openssl req: " + r.output);
  r = RunCommand({"openssl", "x509", "-in", t->cert_, "-outform", "DER", "-out", key + ".der"});
  if (r.exit_code != 0) return absl::InternalError("openssl x509: " + r.output);
  absl::StatusOr<std::string> der = ReadFile(key + ".der");
  absl::StatusOr<std::string> pem = ReadFile(key);
  if (!der.ok() || !pem.ok()) return absl::InternalError("token server: key files");
  t->key_pem_ = *pem;
  t->cert_der_b64_ = absl::Base64Escape(*der);

  t->server_ = std::make_unique<httplib::Server>();
  t->server_->Get("/token", [raw = t.get()](const httplib::Request& req, httplib::Response& res) {
    bool authenticated = false;
    if (!raw->options_.user.empty()) {
      std::string want = "Basic " + absl::Base64Escape(absl::StrCat(raw->options_.user, ":",
                                                                    raw->options_.password));
      std::string got = req.get_header_value("Authorization");
      if (!got.empty() && got != want) {
        raw->refused_++;
        res.status = 401;
        res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"wrong password"}]})",
                        "application/json");
        return;
      }
      authenticated = got == want;
    }
    // scope=repository:<name>:pull,push (repeated); anonymous callers get pull.
    json access = json::array();
    for (auto it = req.params.find("scope"); it != req.params.end() && it->first == "scope"; ++it) {
      std::vector<std::string> parts = absl::StrSplit(it->second, ':');
      if (parts.size() != 3) continue;
      json actions = json::array();
      for (absl::string_view a : absl::StrSplit(parts[2], ',')) {
        if (a == "pull" || authenticated || raw->options_.user.empty()) actions.push_back(a);
      }
      access.push_back({{"type", parts[0]}, {"name", parts[1]}, {"actions", actions}});
    }
    int64_t now = absl::ToUnixSeconds(absl::Now());
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {raw->cert_der_b64_}}};
    json claims = {{"iss", raw->options_.issuer},
                   {"sub", authenticated ? raw->options_.user : ""},
                   {"aud", raw->options_.service},
                   {"exp", now + 600},
                   {"nbf", now - 10},
                   {"iat", now},
                   {"jti", std::to_string(raw->issued_.load())},
                   {"access", access}};
    std::string signing_input =
        absl::StrCat(Base64Url(header.dump()), ".", Base64Url(claims.dump()));
    absl::StatusOr<std::string> sig = SignRs256(raw->key_pem_, signing_input);
    if (!sig.ok()) {
      res.status = 500;
      return;
    }
    raw->issued_++;
    res.set_content(json{{"token", absl::StrCat(signing_input, ".", Base64Url(*sig))}}.dump(),
                    "application/json");
  });
  t->port_ = t->server_->bind_to_any_port("127.0.0.1");
  if (t->port_ <= 0) return absl::UnavailableError("token server: cannot bind a port");
  t->thread_ = std::thread([raw = t.get()] { raw->server_->listen_after_bind(); });
  return t;
}

TokenServer::~TokenServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string TokenServer::realm() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/token");
}

}  // namespace strata::testing
