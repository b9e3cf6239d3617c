#include "layerstore/layer_pipeline.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

// Writes what `bytes` holds into a new daemon ingest and commits it as
// `blob`. Returns false if `bytes` held nothing (no ingest was made).
absl::StatusOr<bool> StoreBlob(ContentStore* content, const Descriptor& blob, ByteSource* bytes,
                               const std::string& lease) {
  std::vector<char> buf(1 << 20);
  STRATA_ASSIGN_OR_RETURN(size_t n, bytes->Read(buf.data(), buf.size()));
  if (n == 0) return false;
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Writer> w,
                          content->OpenWriter(ContentStore::InternalRef("pull"), lease));
  STRATA_RETURN_IF_ERROR(w->Truncate(0));
  while (n > 0) {
    STRATA_RETURN_IF_ERROR(w->Write(buf.data(), n));
    STRATA_ASSIGN_OR_RETURN(n, bytes->Read(buf.data(), buf.size()));
  }
  absl::StatusOr<BlobInfo> info = w->Commit(blob.size, blob.digest, {}, blob.media_type);
  if (!info.ok() && !absl::IsAlreadyExists(info.status())) return info.status();
  return true;
}

}  // namespace

absl::StatusOr<Digest> StoreAndUnpackLayer(ContentStore* content, Unpacker* unpacker,
                                           const LayerToUnpack& layer, const Digest& parent_chain,
                                           ByteSource* bytes, const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(bool stored, StoreBlob(content, layer.blob, bytes, lease));
  if (!stored) {
    absl::Status held = content->Hold(layer.blob.digest, lease);
    if (absl::IsNotFound(held)) {
      return absl::NotFoundError(absl::StrCat("blob ", layer.blob.digest.str(),
                                              " is not stored; send its bytes after the header"));
    }
    STRATA_RETURN_IF_ERROR(held);
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<Digest> chains,
                          unpacker->UnpackChain({layer}, parent_chain, nullptr, lease));
  return chains.back();
}

}  // namespace strata::layerstore
