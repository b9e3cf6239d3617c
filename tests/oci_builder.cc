#include "tests/oci_builder.h"

#include <set>

#include "layerstore/digest.h"
#include "nlohmann/json.hpp"
#include "tests/tar_builder.h"

namespace strata::testing {
namespace {

using json = nlohmann::json;
using layerstore::Sha256Of;

json Descriptor(const std::string& media_type, const std::string& blob) {
  return {{"mediaType", media_type},
          {"digest", Sha256Of(blob).str()},
          {"size", static_cast<int64_t>(blob.size())}};
}

}  // namespace

std::string OneFileLayer(const std::string& path, const std::string& content) {
  TarBuilder t;
  t.File(path, content);
  return t.Bytes();
}

std::string BuildOciArchive(const std::vector<OciImageSpec>& images) {
  TarBuilder t;
  t.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::set<std::string> written;
  auto blob = [&](const std::string& data) {
    if (written.insert(Sha256Of(data).hex()).second) {
      t.File("blobs/sha256/" + Sha256Of(data).hex(), data);
    }
  };
  json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
  for (const OciImageSpec& img : images) {
    json diff_ids = json::array();
    json layers = json::array();
    for (const std::string& tar : img.layer_tars) {
      std::string gz = Gzip(tar);
      blob(gz);
      diff_ids.push_back(Sha256Of(tar).str());
      layers.push_back(Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", gz));
    }
    std::string config = json({{"architecture", "amd64"},
                               {"os", "linux"},
                               {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}})
                             .dump();
    blob(config);
    std::string manifest =
        json({{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", Descriptor("application/vnd.oci.image.config.v1+json", config)},
              {"layers", layers}})
            .dump();
    blob(manifest);
    json entry = Descriptor("application/vnd.oci.image.manifest.v1+json", manifest);
    entry["annotations"] = {{"io.containerd.image.name", img.name}};
    index["manifests"].push_back(entry);
  }
  t.File("index.json", index.dump());
  return t.Bytes();
}

}  // namespace strata::testing
