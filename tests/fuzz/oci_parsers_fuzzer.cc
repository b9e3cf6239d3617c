// Fuzzes the OCI and Docker JSON parsers an imported archive feeds: index,
// manifest, image config and docker-save manifest. Each must return a value
// or an error for any bytes; a parsed document must keep its invariants.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "layerstore/oci.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  if (auto index = strata::layerstore::ParseIndex(json, "fuzz"); index.ok()) {
    for (const auto& d : index->manifests) {
      if (d.digest.empty()) std::abort();  // parsed descriptors carry a digest
    }
  }
  if (auto manifest = strata::layerstore::ParseManifest(json, "fuzz"); manifest.ok()) {
    for (const auto& l : manifest->layers) {
      if (l.digest.empty() || l.size < 0) std::abort();
    }
  }
  (void)strata::layerstore::ParseConfig(json, "fuzz");
  (void)strata::layerstore::ParseDockerArchiveManifest(json);
  return 0;
}
