#include "layerstore/committer.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_util.h"
#include "layerstore/image_writer.h"
#include "layerstore/reference.h"

namespace strata::layerstore {
namespace {

using json = nlohmann::json;

}  // namespace

absl::StatusOr<Compression> ParseCompression(const std::string& name) {
  if (name.empty() || name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  if (name == "none") return Compression::kNone;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown compression \"", name, "\" (gzip, zstd or none)"));
}

absl::StatusOr<CommittedLayer> Committer::CommitLayer(snapshotter::KeySpace space,
                                                      const std::string& key,
                                                      Compression compression,
                                                      const std::string& lease,
                                                      const Cancellation& cancel) {
  STRATA_ASSIGN_OR_RETURN(auto base, snapshots_->ActiveForLayerCommit(space, key));
  std::string ref = ContentStore::InternalRef("commit");
  absl::StatusOr<DiffResult> diff = DiffUpperDir(base.upper_dir, compression, content_, ref, lease);
  if (!diff.ok()) {
    (void)content_->Abort(ref);  // no half blob; the snapshot stays active
    return Annotate(diff.status(), absl::StrCat("commit \"", key, "\""));
  }
  if (absl::Status gone = cancel.Check(absl::StrCat("commit \"", key, "\"")); !gone.ok()) {
    return gone;  // the blob stays with the call's lease, which rolls it back
  }
  CommittedLayer out;
  out.diff = *diff;
  Digest parent;
  if (!base.parent_chain_id.empty()) {
    STRATA_ASSIGN_OR_RETURN(parent, Digest::Parse(base.parent_chain_id));
  }
  out.chain_id = ChainId(parent, diff->diff_id);
  snapshotter::Snapshotter::LayerInfo info;
  info.chain_id = out.chain_id.str();
  info.parent_chain_id = base.parent_chain_id;
  info.diff_id = diff->diff_id.str();
  info.blob_digest = diff->blob.digest.str();
  info.blob_media_type = diff->blob.media_type;
  info.blob_size = diff->blob.size;
  info.entries = diff->entries;
  STRATA_RETURN_IF_ERROR(snapshots_->CommitActiveAsLayer(space, key, info, lease));
  return out;
}

absl::StatusOr<ImageInfo> Committer::CommitImage(const std::string& base, const std::string& key,
                                                 const std::string& name, Compression compression,
                                                 const std::string& lease,
                                                 const Cancellation& cancel) {
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft,
                          CommitDraft(base, key, name, compression, lease, cancel));
  return WriteImage(content_, images_, name, draft, lease);
}

absl::StatusOr<ImageDraft> Committer::BaseDraft(const std::string& base, const std::string& lease) {
  ImageDraft draft;
  if (base.empty()) {
    Platform p = HostPlatform();
    draft.config = {{"architecture", p.architecture},
                    {"os", p.os},
                    {"config", json::object()},
                    {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    return draft;
  }
  STRATA_ASSIGN_OR_RETURN(ResolvedImage img, images_->Resolve(base));
  STRATA_ASSIGN_OR_RETURN(std::string text, images_->ReadJsonBlob(img.manifest.config));
  draft.config = json::parse(text, nullptr, false);
  if (draft.config.is_discarded() || !draft.config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("image \"", base, "\": malformed config"));
  }
  draft.layers = img.manifest.layers;
  draft.chain_ids = img.chain_ids;
  // A new manifest names the base's layer blobs: hold them, in case the base
  // image is deleted while the call runs.
  if (!lease.empty()) {
    for (const Descriptor& l : draft.layers) {
      STRATA_RETURN_IF_ERROR(content_->Hold(l.digest, lease));
    }
  }
  return draft;
}

absl::StatusOr<snapshotter::Snapshotter::ActiveLayerBase> Committer::ActiveAbove(
    const ImageDraft& draft, const std::string& base, const std::string& key) {
  STRATA_ASSIGN_OR_RETURN(auto active,
                          snapshots_->ActiveForLayerCommit(snapshotter::KeySpace::kNative, key));
  std::string top = draft.chain_ids.empty() ? "" : draft.chain_ids.back().str();
  if (active.parent_chain_id != top) {
    return absl::FailedPreconditionError(absl::StrCat(
        "commit \"", key, "\": the snapshot is not above image \"", base, "\"'s top layer"));
  }
  return active;
}

absl::StatusOr<ImageDraft> Committer::CommitDraft(const std::string& base, const std::string& key,
                                                  const std::string& name, Compression compression,
                                                  const std::string& lease,
                                                  const Cancellation& cancel) {
  // Checked before the snapshot is consumed.
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft, BaseDraft(base, lease));
  STRATA_RETURN_IF_ERROR(ActiveAbove(draft, base, key).status());
  STRATA_ASSIGN_OR_RETURN(CommittedLayer layer, CommitLayer(snapshotter::KeySpace::kNative, key,
                                                            compression, lease, cancel));

  std::string now = ConfigTimeNow();
  json& config = draft.config;
  config["rootfs"]["diff_ids"].push_back(layer.diff.diff_id.str());
  if (!config.contains("history") || !config["history"].is_array())
    config["history"] = json::array();
  config["history"].push_back({{"created", now}, {"created_by", "strata commit"}});
  config["created"] = now;
  draft.layers.push_back(layer.diff.blob);
  draft.chain_ids.push_back(layer.chain_id);
  return draft;
}

}  // namespace strata::layerstore
