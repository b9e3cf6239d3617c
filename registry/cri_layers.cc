#include "registry/cri_layers.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace strata::registry {
namespace {

constexpr char kTarget[] = "containerd.io/snapshot.ref";
constexpr char kImageRef[] = "containerd.io/snapshot/cri.image-ref";
constexpr char kManifest[] = "containerd.io/snapshot/cri.manifest-digest";
constexpr char kLayer[] = "containerd.io/snapshot/cri.layer-digest";

const std::string* Find(const std::map<std::string, std::string>& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() || it->second.empty() ? nullptr : &it->second;
}

// Whether `labels` are a CRI extraction snapshot's (target and cri.* labels).
bool IsCriLayer(const std::map<std::string, std::string>& labels) {
  return Find(labels, kTarget) && Find(labels, kImageRef) && Find(labels, kManifest) &&
         Find(labels, kLayer);
}

}  // namespace

bool CriLayers::Wanted(const std::map<std::string, std::string>& labels) const {
  if (!IsCriLayer(labels)) return false;
  absl::StatusOr<layerstore::Digest> target = layerstore::Digest::Parse(*Find(labels, kTarget));
  return target.ok() && !unpacker_->IsUnpacked(*target);
}

absl::Status CriLayers::Fetch(const std::map<std::string, std::string>& labels,
                              const std::string& lease) {
  if (!IsCriLayer(labels)) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(layerstore::Digest target,
                          layerstore::Digest::Parse(*Find(labels, kTarget)));
  if (unpacker_->IsUnpacked(target)) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(ImageRef ref, ParseImageRef(*Find(labels, kImageRef)));
  // The very manifest containerd resolved, by digest: the tag may have moved.
  ref.digest = *Find(labels, kManifest);
  PullOptions options;
  options.lease = lease;
  options.record_image = false;  // containerd names the image, not strata
  STRATA_ASSIGN_OR_RETURN(layerstore::ImportedImage pulled, puller_->Pull(ref, options, nullptr));
  if (std::find(pulled.chain_ids.begin(), pulled.chain_ids.end(), target) ==
      pulled.chain_ids.end()) {
    return absl::NotFoundError(absl::StrCat(ref.String(), " has no layer with chainID ",
                                            target.str(), " (layer ", *Find(labels, kLayer), ")"));
  }
  return absl::OkStatus();
}

}  // namespace strata::registry
