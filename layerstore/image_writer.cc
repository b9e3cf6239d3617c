#include "layerstore/image_writer.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

std::string OciLayerType(const std::string& mt) {
  if (mt == media_type::kDockerLayerGzip) return media_type::kOciLayerGzip;
  if (mt == media_type::kDockerLayer) return media_type::kOciLayer;
  return mt;
}

absl::StatusOr<Descriptor> StoreBlob(ContentStore* content, const std::string& data,
                                     const std::string& media_type, const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(Digest d, content->Put(data, media_type, lease));
  Descriptor desc;
  desc.media_type = media_type;
  desc.digest = d;
  desc.size = static_cast<int64_t>(data.size());
  return desc;
}

}  // namespace

std::string ConfigTimeNow() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::Now(), absl::UTCTimeZone());
}

absl::StatusOr<ImageInfo> WriteImage(ContentStore* content, ImageStore* images,
                                     const std::string& name, const ImageDraft& draft,
                                     const std::string& lease) {
  Manifest manifest;
  manifest.media_type = media_type::kOciManifest;
  STRATA_ASSIGN_OR_RETURN(manifest.config,
                          StoreBlob(content, draft.config.dump(), media_type::kOciConfig, lease));
  for (Descriptor l : draft.layers) {
    l.media_type = OciLayerType(l.media_type);
    manifest.layers.push_back(l);
  }
  STRATA_ASSIGN_OR_RETURN(Descriptor manifest_desc, StoreBlob(content, SerializeManifest(manifest),
                                                              media_type::kOciManifest, lease));
  ImageInfo info;
  info.name = name;
  info.target = manifest_desc;
  info.manifest = manifest_desc.digest;
  return images->Put(info);
}

}  // namespace strata::layerstore
