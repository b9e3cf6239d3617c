// gzip inflate speed, ISA-L's igzip against zlib, on the layers of an image:
// the decoder that limits every anchor's pull. Decompression only (to memory,
// discarded), single thread, best of three, blobs in the page cache.
//
//   inflate_bench [--images DIR]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "layerstore/byte_source.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace strata::bench {
namespace {

using json = nlohmann::json;
using layerstore::GzipDecoder;

double InflateSeconds(const std::vector<std::string>& blobs, GzipDecoder decoder,
                      int64_t* out_bytes) {
  auto t0 = std::chrono::steady_clock::now();
  int64_t total = 0;
  std::vector<char> buf(1 << 20);
  for (const std::string& path : blobs) {
    int fd = ::open(path.c_str(), O_RDONLY);
    layerstore::FdSource file(fd);
    auto gunzip = layerstore::NewDecompressor(layerstore::Compression::kGzip, &file, decoder);
    while (true) {
      absl::StatusOr<size_t> n = (*gunzip)->Read(buf.data(), buf.size());
      if (!n.ok() || *n == 0) break;
      total += static_cast<int64_t>(*n);
    }
    ::close(fd);
  }
  *out_bytes = total;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int Main(int argc, char** argv) {
  std::string images = testing::BinaryDir() + "/images";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--images") && i + 1 < argc) images = argv[++i];
  }
  testing::TempDir tmp;
  testing::RunCommand({"tar", "-xf", images + "/debian-rootfs.oci.tar", "-C", tmp.path()});
  auto read_json = [](const std::string& p) {
    return json::parse(ReadFile(p).value_or("{}"), nullptr, false);
  };
  json index = read_json(tmp.Sub("index.json"));
  json manifest = read_json(tmp.Sub("blobs/sha256/") +
                            index["manifests"][0]["digest"].get<std::string>().substr(7));
  std::vector<std::string> blobs;
  int64_t compressed = 0;
  for (const json& l : manifest["layers"]) {
    blobs.push_back(tmp.Sub("blobs/sha256/") + l["digest"].get<std::string>().substr(7));
    compressed += l["size"].get<int64_t>();
  }
  std::printf("gzip inflate: debian-rootfs layers, %.0f MB compressed, one thread, best of 3\n\n",
              static_cast<double>(compressed) / 1e6);
  double best[2] = {1e9, 1e9};
  int64_t out = 0;
  for (int round = 0; round < 3; ++round) {
    best[0] = std::min(best[0], InflateSeconds(blobs, GzipDecoder::kIsal, &out));
    best[1] = std::min(best[1], InflateSeconds(blobs, GzipDecoder::kZlib, &out));
  }
  double mb = static_cast<double>(out) / 1e6;
  std::printf("%-14s %8s %14s %16s\n", "decoder", "seconds", "MB/s out", "MB/s compressed");
  std::printf("%-14s %8.3f %14.0f %16.0f\n", "isa-l igzip", best[0], mb / best[0],
              static_cast<double>(compressed) / 1e6 / best[0]);
  std::printf("%-14s %8.3f %14.0f %16.0f\n", "zlib", best[1], mb / best[1],
              static_cast<double>(compressed) / 1e6 / best[1]);
  std::printf("\nigzip is %.2fx zlib; strata uses %s.\n", best[1] / best[0],
              best[0] <= best[1] ? "igzip (the default)" : "zlib would be faster here");
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) { return strata::bench::Main(argc, argv); }
