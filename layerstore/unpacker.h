// Unpacks image layers from the content store into layer directories keyed by
// chainID (snapshotter's CommitLayer), verifying as it goes.
//
// One pass per layer: the blob is read once; its sha256 (must equal the
// descriptor's digest), decompression, the tar stream's sha256 (must equal
// the config's diff_id) and extraction all happen on that one stream. The
// missing layers of a chain unpack in parallel (each into its own directory,
// none needs its parent's files); one syncfs makes them durable; then they are
// recorded bottom-up. A chainID already present is not unpacked again. On any
// error nothing is recorded and the directories are removed.
//
// Thread-safe: concurrent imports may unpack the same chain; one records it,
// the others drop their copy.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/oci.h"
#include "layerstore/tar_extractor.h"
#include "snapshotter/snapshotter.h"

namespace strata::layerstore {

struct LayerToUnpack {
  Descriptor blob;  // media type, digest and size of the stored blob
  Digest diff_id;
};

struct UnpackOptions {
  ExtractLimits limits;
  // Default: ISA-L (bench/inflate_bench measures it against zlib).
  GzipDecoder gzip = GzipDecoder::kIsal;
  // Layers unpacked at once. Default: 0, one per CPU.
  int parallelism = 0;
};

// Progress of long work: a phase ("unpack"), units done and total.
using ProgressFn = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

class Unpacker {
 public:
  // `content` and `snapshots` must outlive the unpacker.
  Unpacker(ContentStore* content, snapshotter::Snapshotter* snapshots, UnpackOptions options)
      : content_(content), snapshots_(snapshots), options_(options) {}

  // Ensures `layers` (bottom first) are unpacked above `parent_chain` (empty:
  // a base) and visible as native snapshots named by chainID. Returns the
  // chainIDs, one per layer.
  absl::StatusOr<std::vector<Digest>> UnpackChain(const std::vector<LayerToUnpack>& layers,
                                                  const Digest& parent_chain,
                                                  const ProgressFn& progress = nullptr);

 private:
  struct Unpacked {
    uint64_t dir_id = 0;
    ExtractResult result;
  };
  // Extracts one layer into a new directory and verifies both digests.
  absl::StatusOr<Unpacked> UnpackOne(const LayerToUnpack& layer);

  ContentStore* content_;
  snapshotter::Snapshotter* snapshots_;
  UnpackOptions options_;
};

}  // namespace strata::layerstore
