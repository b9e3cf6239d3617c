// Builds OCI image-layout archives in memory: images made of the given layer
// tars (gzip-compressed), for tests that need many small, related images.
#pragma once

#include <string>
#include <vector>

namespace strata::testing {

struct OciImageSpec {
  std::string name;                     // io.containerd.image.name
  std::vector<std::string> layer_tars;  // bottom first, uncompressed tar streams
};

// One archive holding every image in `images` (blobs they share stored once).
std::string BuildOciArchive(const std::vector<OciImageSpec>& images);

// A layer tar of one file, for images that differ by a file or two.
std::string OneFileLayer(const std::string& path, const std::string& content);

}  // namespace strata::testing
