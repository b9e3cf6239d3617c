// Content digests ("sha256:<64 hex>"), streaming SHA-256, and OCI chainIDs.
// OpenSSL errors are converted here and nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace strata::layerstore {

// A validated sha256 digest. Only sha256 is accepted (the algorithm every
// OCI image in use today names); anything else is InvalidArgument.
class Digest {
 public:
  Digest() = default;
  static absl::StatusOr<Digest> Parse(absl::string_view s);
  static Digest FromHex(std::string hex);  // REQUIRES: 64 lowercase hex chars

  const std::string& hex() const { return hex_; }
  std::string str() const { return "sha256:" + hex_; }
  bool empty() const { return hex_.empty(); }
  bool operator==(const Digest& o) const { return hex_ == o.hex_; }
  bool operator!=(const Digest& o) const { return hex_ != o.hex_; }
  bool operator<(const Digest& o) const { return hex_ < o.hex_; }

 private:
  std::string hex_;
};

// Incremental SHA-256. Not thread-safe; move-only.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, size_t n);
  // Finishes the hash; the object may not be updated afterwards.
  Digest Finish();

 private:
  evp_md_ctx_st* ctx_;
};

Digest Sha256Of(absl::string_view data);

// chainID(L1) = diffID(L1); chainID(L1..Ln) = sha256(chainID(L1..Ln-1) + " " + diffID(Ln)).
Digest ChainId(const Digest& parent_chain, const Digest& diff_id);
// The chainIDs of each prefix of `diff_ids`.
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

}  // namespace strata::layerstore
