#include "layerstore/digest.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace strata::layerstore {
namespace {

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Digest> Digest::Parse(absl::string_view s) {
  if (!absl::StartsWith(s, "sha256:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest \"", s.substr(0, 80), "\": only sha256 digests are supported"));
  }
  absl::string_view hex = s.substr(7);
  if (hex.size() != 64 || !IsLowerHex(hex)) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest \"", s.substr(0, 80), "\": not 64 lowercase hex digits"));
  }
  return FromHex(std::string(hex));
}

Digest Digest::FromHex(std::string hex) {
  Digest d;
  d.hex_ = std::move(hex);
  return d;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation or init failure of a built-in digest means OpenSSL itself is
  // broken; there is no sensible recovery.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() {
  if (ctx_ != nullptr) EVP_MD_CTX_free(ctx_);
}

Sha256::Sha256(Sha256&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& o) noexcept {
  if (this != &o) {
    if (ctx_ != nullptr) EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }

Digest Sha256::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
  return Digest::FromHex(
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(out), len)));
}

Digest Sha256Of(absl::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

Digest ChainId(const Digest& parent_chain, const Digest& diff_id) {
  if (parent_chain.empty()) return diff_id;
  return Sha256Of(absl::StrCat(parent_chain.str(), " ", diff_id.str()));
}

std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  Digest chain;
  for (const Digest& d : diff_ids) {
    chain = ChainId(chain, d);
    out.push_back(chain);
  }
  return out;
}

}  // namespace strata::layerstore
