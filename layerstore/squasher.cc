#include "layerstore/squasher.h"

#include <stdlib.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fs.h"
#include "common/status_util.h"
#include "layerstore/differ.h"
#include "layerstore/layer_pipeline.h"
#include "layerstore/reference.h"
#include "layerstore/whiteout_prune.h"
#include "snapshotter/layer_apply.h"

namespace strata::layerstore {
namespace {

using json = nlohmann::json;

// The config's history without the entries of the layers from `from` up,
// but for empty-layer entries (config changes), then one entry for the
// merged layer.
json SquashedHistory(const json& history, size_t from, size_t merged) {
  json out = json::array();
  size_t layer = 0;
  if (history.is_array()) {
    for (const json& entry : history) {
      bool empty = entry.is_object() && entry.value("empty_layer", false);
      if (empty || layer < from) out.push_back(entry);
      if (!empty) ++layer;
    }
  }
  out.push_back({{"created", ConfigTimeNow()},
                 {"created_by", absl::StrCat("strata squash: ", merged, " layers merged into one")},
                 {"comment", "merged by strata"}});
  return out;
}

}  // namespace

absl::StatusOr<ImageInfo> Squasher::Squash(const std::string& image, const std::string& name,
                                           int layers, Compression compression,
                                           const std::string& lease) {
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  STRATA_ASSIGN_OR_RETURN(ResolvedImage img, images_->Resolve(image));
  STRATA_ASSIGN_OR_RETURN(std::string text, images_->ReadJsonBlob(img.manifest.config));
  ImageDraft draft;
  draft.config = json::parse(text, nullptr, false);
  if (draft.config.is_discarded() || !draft.config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("image \"", image, "\": malformed config"));
  }
  draft.layers = img.manifest.layers;
  draft.chain_ids = img.chain_ids;
  // The new manifest names the lower layers' blobs: hold them, in case the
  // image is deleted while this runs.
  if (!lease.empty()) {
    for (const Descriptor& l : draft.layers)
      STRATA_RETURN_IF_ERROR(content_->Hold(l.digest, lease));
  }
  return SquashDraft(std::move(draft), name, layers, compression, lease);
}

absl::StatusOr<ImageInfo> Squasher::CommitSquashed(const std::string& base, const std::string& key,
                                                   const std::string& name, Compression compression,
                                                   const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft,
                          committer_->CommitDraft(base, key, name, compression, lease));
  // The container's layer and the image's top one; a container without a
  // base image is already one layer.
  int merged = draft.layers.size() >= 2 ? 2 : 1;
  return SquashDraft(std::move(draft), name, merged, compression, lease);
}

absl::StatusOr<ImageInfo> Squasher::SquashDraft(ImageDraft draft, const std::string& name,
                                                int layers, Compression compression,
                                                const std::string& lease) {
  size_t count = draft.layers.size();
  size_t merged = layers == 0 ? count : static_cast<size_t>(layers);
  if (layers < 0 || merged == 0 || merged > count) {
    return absl::InvalidArgumentError(absl::StrCat("cannot merge ", layers,
                                                   " layers of an image of ", count,
                                                   (count == 1 ? " layer" : " layers")));
  }
  size_t from = count - merged;
  STRATA_ASSIGN_OR_RETURN(std::string staging_path, MergeTrees(draft, from));
  ScopedDir staging(staging_path);
  std::string ref = ContentStore::InternalRef("squash");
  absl::StatusOr<DiffResult> diff = DiffUpperDir(staging.path(), compression, content_, ref, lease);
  if (!diff.ok()) {
    (void)content_->Abort(ref);
    return diff.status();
  }
  Digest parent = from == 0 ? Digest() : draft.chain_ids[from - 1];
  MemorySource stored(nullptr, 0);  // the differ stored the blob already
  STRATA_ASSIGN_OR_RETURN(
      Digest chain, StoreAndUnpackLayer(content_, unpacker_, {diff->blob, diff->diff_id}, parent,
                                        &stored, lease));
  json diff_ids = json::array();
  for (size_t i = 0; i < from; ++i) diff_ids.push_back(draft.config["rootfs"]["diff_ids"][i]);
  diff_ids.push_back(diff->diff_id.str());
  draft.config["rootfs"]["diff_ids"] = diff_ids;
  draft.config["history"] = SquashedHistory(draft.config.value("history", json()), from, merged);
  draft.config["created"] = ConfigTimeNow();
  draft.layers.resize(from);
  draft.layers.push_back(diff->blob);
  draft.chain_ids.resize(from);
  draft.chain_ids.push_back(chain);
  return WriteImage(content_, images_, name, draft, lease);
}

absl::StatusOr<std::string> Squasher::MergeTrees(const ImageDraft& draft, size_t from) {
  std::string tmpl = snapshots_->layout().TmpDir() + "/squash-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoToStatus(errno, "make squash staging dir");
  ScopedDir staging(tmpl);
  std::vector<std::string> whiteouts;
  snapshotter::ApplyOptions options;
  options.keep_whiteouts = from > 0;  // over nothing, a whiteout hides nothing
  options.whiteouts = &whiteouts;
  for (size_t i = from; i < draft.chain_ids.size(); ++i) {
    STRATA_ASSIGN_OR_RETURN(auto layer, snapshots_->GetLayer(draft.chain_ids[i].str()));
    STRATA_RETURN_IF_ERROR(
        snapshotter::ApplyLayer(snapshots_->layout().FilesDir(layer.dir_id), tmpl, options));
  }
  if (from > 0) {
    std::vector<std::string> lowers;  // nearest first
    for (size_t i = from; i-- > 0;) {
      STRATA_ASSIGN_OR_RETURN(auto layer, snapshots_->GetLayer(draft.chain_ids[i].str()));
      lowers.push_back(snapshots_->layout().FilesDir(layer.dir_id));
    }
    STRATA_RETURN_IF_ERROR(DropIdleWhiteouts(tmpl, whiteouts, lowers).status());
  }
  return staging.Release();
}

}  // namespace strata::layerstore
