// Fuzzes layer extraction: the bytes are a layer blob (gzip, zstd or plain
// tar, told apart by their magic, as a registry's blob would be), unpacked
// into a fresh directory with the daemon's code. Besides crashes and
// sanitizer reports, it checks the one property that matters most: nothing
// is ever created outside the layer's directory.
#include <unistd.h>

#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/fs.h"
#include "layerstore/byte_source.h"
#include "layerstore/tar_extractor.h"

namespace {

using strata::layerstore::Compression;

Compression Sniff(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return Compression::kGzip;
  if (size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

// One sandbox per process: <sandbox>/root is the layer directory, and the
// sandbox must hold nothing else afterwards.
const std::string& Sandbox() {
  // Never destroyed, so the exit handler that removes it can still read it.
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/strata-fuzz-unpack-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    std::atexit([] { (void)strata::RemoveTree(Sandbox()); });
    return new std::string(tmpl);
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::setlocale(LC_ALL, "C.UTF-8");  // as stratad runs
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string root = Sandbox() + "/root";
  if (!strata::MakeDirs(root, 0755).ok()) std::abort();
  strata::layerstore::MemorySource raw(reinterpret_cast<const char*>(data), size);
  auto tar = strata::layerstore::NewDecompressor(Sniff(data, size), &raw);
  if (tar.ok()) {
    strata::layerstore::ExtractLimits limits;
    limits.max_written_bytes = 64 << 20;
    limits.max_stream_bytes = 256 << 20;
    limits.max_entries = 10000;
    (void)strata::layerstore::ExtractLayer(tar->get(), root, limits);
  }
  auto names = strata::ListDir(Sandbox());
  if (!names.ok() || names->size() != 1 || (*names)[0] != "root") {
    std::fprintf(stderr, "extraction created something outside its root\n");
    std::abort();
  }
  if (!strata::RemoveTree(root).ok()) std::abort();
  return 0;
}
