// Unpacks image layers from the content store into layer directories keyed by
// chainID (snapshotter's RecordUnpackedLayer), verifying as it goes.
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

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "common/work_pool.h"
#include "layerstore/byte_source.h"
#include "layerstore/content_store.h"
#include "layerstore/growing_file.h"
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
  // Background threads extracting layers, shared by every call (each call
  // also extracts on its own thread). Default: 0, one per CPU.
  int parallelism = 0;
};

// Progress of long work: a phase ("unpack"), units done and total.
using ProgressFn = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

class UnpackSession;

class Unpacker {
 public:
  // `content` and `snapshots` must outlive the unpacker.
  Unpacker(ContentStore* content, snapshotter::Snapshotter* snapshots, UnpackOptions options);
  ~Unpacker();  // waits for the pool's running extractions

  // Ensures `layers` (bottom first) are unpacked above `parent_chain` (empty:
  // a base) and visible as native snapshots named by chainID. Returns the
  // chainIDs, one per layer. `lease` (optional) holds the chain, so garbage
  // collection cannot take a layer this call relies on before its caller
  // records what references it.
  absl::StatusOr<std::vector<Digest>> UnpackChain(const std::vector<LayerToUnpack>& layers,
                                                  const Digest& parent_chain,
                                                  const ProgressFn& progress = nullptr,
                                                  const std::string& lease = "");

  // Whether the layer `chain` is unpacked now (it may go before it is held).
  bool IsUnpacked(const Digest& chain) const;

 private:
  friend class UnpackSession;
  struct Unpacked {
    uint64_t dir_id = 0;
    ExtractResult result;
    Compression compression = Compression::kNone;
    Digest diff_id;  // computed from the stream
  };
  // Extracts a blob into a new directory, verifying its digest and size and
  // computing its diff_id (checked by the caller). Reads `bytes` if given,
  // else the stored blob.
  absl::StatusOr<Unpacked> Extract(const Descriptor& blob, ByteSource* bytes = nullptr);
  // Extract and check the diff_id.
  absl::StatusOr<Unpacked> UnpackOne(const LayerToUnpack& layer);
  absl::StatusOr<std::vector<Digest>> UnpackChainWith(const std::vector<LayerToUnpack>& layers,
                                                      const Digest& parent_chain,
                                                      const ProgressFn& progress,
                                                      const std::string& lease,
                                                      UnpackSession* session);
  // The chainIDs of `layers` above `parent_chain`, and the indexes of those
  // not unpacked yet. With a lease, the part already unpacked is held first.
  absl::Status PlanChain(const std::vector<LayerToUnpack>& layers, const Digest& parent_chain,
                         const std::string& lease, std::vector<Digest>* chains,
                         std::vector<size_t>* todo);

  // Drops the whiteouts of the freshly unpacked layers (`todo`) that hide
  // nothing in the layers below them (whiteout_prune.h).
  absl::Status PruneWhiteouts(const Digest& parent_chain, const std::vector<Digest>& chains,
                              const std::vector<size_t>& todo,
                              const std::vector<std::optional<absl::StatusOr<Unpacked>>>& results);

  ContentStore* content_;
  snapshotter::Snapshotter* snapshots_;
  UnpackOptions options_;
  // Shared by every import and pull: concurrent calls together run at most
  // `parallelism` extractions in the background (plus one on each caller's
  // own thread).
  std::unique_ptr<WorkPool> pool_;
};

// One import's unpacking: layer blobs may start unpacking as soon as they are
// stored (Prefetch), before the manifest that names them has arrived, so
// reading an archive overlaps unpacking it. UnpackChain claims a prefetched
// directory only if the blob's digest, compression and diff_id all match what
// the image says; anything unclaimed is discarded when the session ends.
// Nothing is recorded by a prefetch. Thread-safe.
class UnpackSession {
 public:
  explicit UnpackSession(Unpacker* unpacker);  // must outlive the session
  ~UnpackSession();  // waits for running prefetches; discards unclaimed directories

  // Starts unpacking `blob` in the background: from `arriving` (its bytes
  // as they download) if given, else from the content store.
  void Prefetch(const Descriptor& blob, std::shared_ptr<GrowingFile> arriving = nullptr);
  absl::StatusOr<std::vector<Digest>> UnpackChain(const std::vector<LayerToUnpack>& layers,
                                                  const Digest& parent_chain,
                                                  const ProgressFn& progress = nullptr,
                                                  const std::string& lease = "");

 private:
  friend class Unpacker;
  struct Slot;
  // A finished prefetch of `blob`, if there was one (waits for a running one).
  std::optional<absl::StatusOr<Unpacker::Unpacked>> Claim(const Digest& blob);

  // Runs the prefetch of `blob` on the unpacker's pool, unless it was claimed first.
  void Run(const Descriptor& blob, const std::shared_ptr<Slot>& slot,
           const std::shared_ptr<GrowingFile>& arriving);

  Unpacker* unpacker_;
  Mutex mu_;
  std::map<Digest, std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  TaskGroup prefetches_;  // last: closed first, before the slots go
};

// The media type a layer blob most likely has, from its first bytes: gzip,
// zstd or plain tar; empty if it does not look like a layer.
std::string SniffLayerMediaType(absl::string_view head);

}  // namespace strata::layerstore
