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
                                                      const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(auto base, snapshots_->ActiveForLayerCommit(space, key));
  std::string ref = ContentStore::InternalRef("commit");
  absl::StatusOr<DiffResult> diff = DiffUpperDir(base.upper_dir, compression, content_, ref, lease);
  if (!diff.ok()) {
    (void)content_->Abort(ref);  // no half blob; the snapshot stays active
    return Annotate(diff.status(), absl::StrCat("commit \"", key, "\""));
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
                                                 const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft, CommitDraft(base, key, name, compression, lease));
  return WriteImage(content_, images_, name, draft, lease);
}

absl::StatusOr<ImageDraft> Committer::CommitDraft(const std::string& base, const std::string& key,
                                                  const std::string& name, Compression compression,
                                                  const std::string& lease) {
  // Checked before the snapshot is consumed.
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  json config;
  std::vector<layerstore::Descriptor> layers;
  std::vector<Digest> chain_ids;
  Digest base_top;
  if (!base.empty()) {
    STRATA_ASSIGN_OR_RETURN(ResolvedImage img, images_->Resolve(base));
    STRATA_ASSIGN_OR_RETURN(std::string text, images_->ReadJsonBlob(img.manifest.config));
    config = json::parse(text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("image \"", base, "\": malformed config"));
    }
    layers = img.manifest.layers;
    chain_ids = img.chain_ids;
    base_top = img.top_chain();
    // The new manifest names the base's layer blobs: hold them, in case the
    // base image is deleted while this commit runs.
    if (!lease.empty()) {
      for (const layerstore::Descriptor& l : layers) {
        STRATA_RETURN_IF_ERROR(content_->Hold(l.digest, lease));
      }
    }
  } else {
    Platform p = HostPlatform();
    config = {{"architecture", p.architecture},
              {"os", p.os},
              {"config", json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  }
  STRATA_ASSIGN_OR_RETURN(auto active,
                          snapshots_->ActiveForLayerCommit(snapshotter::KeySpace::kNative, key));
  if (active.parent_chain_id != (base_top.empty() ? "" : base_top.str())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "commit \"", key, "\": the snapshot is not above image \"", base, "\"'s top layer"));
  }
  STRATA_ASSIGN_OR_RETURN(CommittedLayer layer,
                          CommitLayer(snapshotter::KeySpace::kNative, key, compression, lease));

  std::string now = ConfigTimeNow();
  config["rootfs"]["diff_ids"].push_back(layer.diff.diff_id.str());
  if (!config.contains("history") || !config["history"].is_array())
    config["history"] = json::array();
  config["history"].push_back({{"created", now}, {"created_by", "strata commit"}});
  config["created"] = now;
  layers.push_back(layer.diff.blob);
  chain_ids.push_back(layer.chain_id);
  return ImageDraft{std::move(config), std::move(layers), std::move(chain_ids)};
}

}  // namespace strata::layerstore
