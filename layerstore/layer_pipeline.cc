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

absl::StatusOr<ImportedImage> UnpackImage(ContentStore* content, const ImageStore& images,
                                          UnpackSession* session, const Descriptor& target,
                                          const Descriptor& manifest_desc, const std::string& lease,
                                          const ProgressFn& progress) {
  STRATA_ASSIGN_OR_RETURN(std::string text, images.ReadJsonBlob(manifest_desc));
  std::string what = "manifest " + manifest_desc.digest.str();
  STRATA_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(text, what));
  if (!IsConfigType(manifest.config.media_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": unsupported config media type \"", manifest.config.media_type, "\""));
  }
  STRATA_ASSIGN_OR_RETURN(text, images.ReadJsonBlob(manifest.config));
  STRATA_ASSIGN_OR_RETURN(ImageConfig config,
                          ParseConfig(text, "config " + manifest.config.digest.str()));
  if (config.diff_ids.size() != manifest.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", manifest.layers.size(),
                                                   " layers but ", config.diff_ids.size(),
                                                   " diff_ids in the config"));
  }
  std::vector<LayerToUnpack> layers;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& l = manifest.layers[i];
    STRATA_RETURN_IF_ERROR(Annotate(LayerCompression(l.media_type).status(), what));
    absl::StatusOr<BlobInfo> blob = content->Info(l.digest);
    if (!blob.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": layer blob ", l.digest.str(), " is missing"));
    }
    if (blob->size != l.size) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": layer blob ", l.digest.str(), " is ",
                                                     blob->size, " bytes, the manifest says ",
                                                     l.size));
    }
    layers.push_back({l, config.diff_ids[i]});
  }
  ImportedImage out;
  STRATA_ASSIGN_OR_RETURN(out.chain_ids, session->UnpackChain(layers, Digest(), progress, lease));
  // Now that the manifest said what each blob is, `strata blobs` can too.
  std::vector<Descriptor> described = manifest.layers;
  described.push_back(manifest.config);
  described.push_back(manifest_desc);
  described.push_back(target);
  for (const Descriptor& d : described) {
    STRATA_RETURN_IF_ERROR(content->NoteMediaType(d.digest, d.media_type));
  }
  out.info.target = target;
  out.info.manifest = manifest_desc.digest;
  return out;
}

}  // namespace strata::layerstore
