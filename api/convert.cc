#include "api/convert.h"

namespace strata::api {

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t nanos = absl::ToUnixNanos(t);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

void ToProto(const layerstore::Descriptor& d, strata::v1::Descriptor* out) {
  out->set_media_type(d.media_type);
  out->set_digest(d.digest.str());
  out->set_size(d.size);
}

void ToProto(const layerstore::BlobInfo& b, strata::v1::BlobInfo* out) {
  out->set_digest(b.digest.str());
  out->set_size(b.size);
  out->set_media_type(b.media_type);
  out->mutable_labels()->insert(b.labels.begin(), b.labels.end());
  ToProto(b.created, out->mutable_created_at());
  ToProto(b.updated, out->mutable_updated_at());
}

void ToProto(const layerstore::ResolvedImage& img, snapshotter::Snapshotter& sn,
             strata::v1::Image* out) {
  out->set_name(img.info.name);
  ToProto(img.info.target, out->mutable_target());
  out->set_manifest_digest(img.info.manifest.str());
  out->set_config_digest(img.manifest.config.digest.str());
  out->set_top_chain_id(img.top_chain().str());
  for (size_t i = 0; i < img.manifest.layers.size() && i < img.chain_ids.size(); ++i) {
    strata::v1::Layer* l = out->add_layers();
    ToProto(img.manifest.layers[i], l->mutable_blob());
    l->set_diff_id(img.config.diff_ids[i].str());
    l->set_chain_id(img.chain_ids[i].str());
    l->set_unpacked(sn.GetLayer(img.chain_ids[i].str()).ok());
    absl::StatusOr<snapshotter::Usage> usage =
        sn.GetUsage(snapshotter::KeySpace::kNative, img.chain_ids[i].str());
    if (usage.ok()) l->set_disk_size(usage->size);
  }
  out->mutable_labels()->insert(img.info.labels.begin(), img.info.labels.end());
  ToProto(img.info.created, out->mutable_created_at());
  ToProto(img.info.updated, out->mutable_updated_at());
  if (img.config.created != absl::InfinitePast()) {
    ToProto(img.config.created, out->mutable_image_created());
  }
}

}  // namespace strata::api
