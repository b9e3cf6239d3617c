#include "layerstore/squasher.h"

#include <stdlib.h>

#include <algorithm>
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
                                           const std::string& lease, const Cancellation& cancel) {
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft, committer_->BaseDraft(image, lease));
  size_t count = draft.layers.size();
  size_t merged = layers == 0 ? count : static_cast<size_t>(layers);
  if (layers < 0 || merged == 0 || merged > count) {
    return absl::InvalidArgumentError(absl::StrCat("cannot merge ", layers,
                                                   " layers of an image of ", count,
                                                   (count == 1 ? " layer" : " layers")));
  }
  if (merged == 1) {
    // One layer merged into one would only write the same layer again.
    return absl::InvalidArgumentError(absl::StrCat(
        "nothing to merge: ", count == 1 ? absl::StrCat("image \"", image, "\" has one layer")
                                         : std::string("--layers 1 merges one layer into itself")));
  }
  return SquashDraft(std::move(draft), name, count - merged, {}, merged, compression, lease,
                     cancel);
}

absl::StatusOr<ImageInfo> Squasher::CommitSquashed(const std::string& base, const std::string& key,
                                                   const std::string& name, Compression compression,
                                                   const std::string& lease,
                                                   const Cancellation& cancel) {
  STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  STRATA_ASSIGN_OR_RETURN(ImageDraft draft, committer_->BaseDraft(base, lease));
  STRATA_ASSIGN_OR_RETURN(auto active, committer_->ActiveAbove(draft, base, key));
  // The container's upper directory is read where it is, never consumed:
  // until the new image is recorded the container is as it was. Merged into
  // the image's top layer; a container without a base image is one layer.
  size_t count = draft.layers.size();
  size_t from = count == 0 ? 0 : count - 1;
  STRATA_ASSIGN_OR_RETURN(ImageInfo image,
                          SquashDraft(std::move(draft), name, from, {active.upper_dir},
                                      count - from + 1, compression, lease, cancel));
  // Its changes are in the image now; a failure here leaves a container
  // that an `rm` removes, never lost data.
  STRATA_RETURN_IF_ERROR(Annotate(snapshots_->Remove(snapshotter::KeySpace::kNative, key),
                                  absl::StrCat("image \"", name, "\" made; remove \"", key, "\"")));
  return image;
}

absl::StatusOr<ImageInfo> Squasher::SquashDraft(ImageDraft draft, const std::string& name,
                                                size_t from, const std::vector<std::string>& above,
                                                size_t merged, Compression compression,
                                                const std::string& lease,
                                                const Cancellation& cancel) {
  std::vector<Digest> merged_chains(draft.chain_ids.begin() + static_cast<ptrdiff_t>(from),
                                    draft.chain_ids.end());
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> dirs, LayerDirs(merged_chains));
  dirs.insert(dirs.end(), above.begin(), above.end());
  std::vector<Digest> lower_chains(draft.chain_ids.begin(),
                                   draft.chain_ids.begin() + static_cast<ptrdiff_t>(from));
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> lowers, LayerDirs(lower_chains));
  std::reverse(lowers.begin(), lowers.end());  // nearest first
  STRATA_ASSIGN_OR_RETURN(std::string staging_path, MergeTrees(dirs, lowers, cancel));
  ScopedDir staging(staging_path);
  std::string ref = ContentStore::InternalRef("squash");
  absl::StatusOr<DiffResult> diff = DiffUpperDir(staging.path(), compression, content_, ref, lease);
  if (!diff.ok()) {
    (void)content_->Abort(ref);
    return diff.status();
  }
  // What the call made so far is held by its lease, which rolls it back.
  STRATA_RETURN_IF_ERROR(cancel.Check("squash"));
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
  STRATA_RETURN_IF_ERROR(cancel.Check("squash"));
  return WriteImage(content_, images_, name, draft, lease);
}

absl::StatusOr<std::vector<std::string>> Squasher::LayerDirs(const std::vector<Digest>& chain_ids) {
  std::vector<std::string> dirs;
  for (const Digest& chain : chain_ids) {
    STRATA_ASSIGN_OR_RETURN(auto layer, snapshots_->GetLayer(chain.str()));
    dirs.push_back(snapshots_->layout().FilesDir(layer.dir_id));
  }
  return dirs;
}

absl::StatusOr<std::string> Squasher::MergeTrees(const std::vector<std::string>& dirs,
                                                 const std::vector<std::string>& lowers,
                                                 const Cancellation& cancel) {
  std::string tmpl = snapshots_->layout().TmpDir() + "/squash-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoToStatus(errno, "make squash staging dir");
  ScopedDir staging(tmpl);
  std::vector<std::string> whiteouts;
  snapshotter::ApplyOptions options;
  options.keep_whiteouts = !lowers.empty();  // over nothing, a whiteout hides nothing
  options.whiteouts = &whiteouts;
  for (const std::string& dir : dirs) {
    STRATA_RETURN_IF_ERROR(cancel.Check("squash"));
    STRATA_RETURN_IF_ERROR(snapshotter::ApplyLayer(dir, tmpl, options));
  }
  if (!lowers.empty()) {
    STRATA_RETURN_IF_ERROR(DropIdleWhiteouts(tmpl, whiteouts, lowers).status());
  }
  return staging.Release();
}

}  // namespace strata::layerstore
