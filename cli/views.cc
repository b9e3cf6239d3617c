#include "cli/views.h"

namespace strata::cli {

namespace pb = strata::v1;
namespace spb = containerd::services::snapshots::v1;

nlohmann::json ImageJson(const pb::Image& img) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : img.layers()) {
    layers.push_back({{"digest", l.blob().digest()},
                      {"media_type", l.blob().media_type()},
                      {"size", l.blob().size()},
                      {"diff_id", l.diff_id()},
                      {"chain_id", l.chain_id()},
                      {"unpacked", l.unpacked()},
                      {"disk_size", l.disk_size()}});
  }
  return {
      {"name", img.name()},
      {"target", {{"digest", img.target().digest()}, {"media_type", img.target().media_type()}}},
      {"manifest", img.manifest_digest()},
      {"config", img.config_digest()},
      {"top_chain_id", img.top_chain_id()},
      {"created_at", img.created_at().seconds()},
      {"image_created",
       img.has_image_created() ? nlohmann::json(img.image_created().seconds()) : nlohmann::json()},
      {"layers", layers}};
}

int64_t ImageSize(const pb::Image& img) {
  int64_t total = 0;
  for (const auto& l : img.layers()) total += l.blob().size();
  return total;
}

int64_t ImageDiskSize(const pb::Image& img) {
  int64_t total = 0;
  for (const auto& l : img.layers()) total += l.disk_size();
  return total;
}

const char* KindName(spb::Kind k) {
  switch (k) {
    case spb::VIEW:
      return "view";
    case spb::ACTIVE:
      return "active";
    case spb::COMMITTED:
      return "committed";
    default:
      return "unknown";
  }
}

}  // namespace strata::cli
