#include "layerstore/unpacker.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status_util.h"
#include "layerstore/whiteout_prune.h"
#include "layerstore/work_counters.h"

namespace strata::layerstore {
namespace {

// The per-layer proof fsck checks: "<crc32 hex> <size> <path length> <path>\n".
std::string EncodeSums(const std::vector<FileSum>& files) {
  std::string out;
  for (const FileSum& f : files) {
    char crc[9];
    std::snprintf(crc, sizeof(crc), "%08x", f.crc32);
    absl::StrAppend(&out, crc, " ", f.size, " ", f.path.size(), " ", f.path, "\n");
  }
  return out;
}

// Passes bytes through untouched (an uncompressed layer).
class PassThrough : public ByteSource {
 public:
  explicit PassThrough(ByteSource* in) : in_(in) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override { return in_->Read(buf, n); }

 private:
  ByteSource* in_;
};

// Times the reads of a source that may wait for its bytes (a download in
// progress, a client's stream): that wait is not unpacking.
class TimedSource : public ByteSource {
 public:
  explicit TimedSource(ByteSource* in) : in_(in) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    absl::Time start = absl::Now();
    absl::StatusOr<size_t> got = in_->Read(buf, n);
    waited_ += absl::Now() - start;
    return got;
  }
  absl::Duration waited() const { return waited_; }

 private:
  ByteSource* in_;
  absl::Duration waited_;
};

// Directories unpacked for one chain and not yet recorded: those still
// pending when the call ends (an error, or a copy another import beat) are
// discarded. Used after the workers joined: one thread.
class PendingLayerDirs {
 public:
  explicit PendingLayerDirs(snapshotter::Snapshotter* snapshots) : snapshots_(snapshots) {}
  PendingLayerDirs(const PendingLayerDirs&) = delete;
  PendingLayerDirs& operator=(const PendingLayerDirs&) = delete;
  ~PendingLayerDirs() {
    for (uint64_t id : ids_) snapshots_->DiscardLayerDirectory(id);
  }
  void Add(uint64_t id) { ids_.insert(id); }
  void Recorded(uint64_t id) { ids_.erase(id); }  // the record owns it now

 private:
  snapshotter::Snapshotter* snapshots_;
  std::set<uint64_t> ids_;
};

}  // namespace

Unpacker::Unpacker(ContentStore* content, snapshotter::Snapshotter* snapshots,
                   UnpackOptions options)
    : content_(content),
      snapshots_(snapshots),
      options_(options),
      pool_(std::make_unique<WorkPool>(
          options.parallelism > 0 ? options.parallelism
                                  : static_cast<int>(std::thread::hardware_concurrency()))) {}

Unpacker::~Unpacker() = default;

absl::StatusOr<Unpacker::Unpacked> Unpacker::Extract(const Descriptor& blob, ByteSource* bytes) {
  STRATA_ASSIGN_OR_RETURN(Compression compression, LayerCompression(blob.media_type));
  UniqueFd fd;
  if (bytes == nullptr) {
    STRATA_ASSIGN_OR_RETURN(fd, content_->OpenBlob(blob.digest));
  }
  STRATA_ASSIGN_OR_RETURN(uint64_t dir, snapshots_->NewLayerDirectory());
  absl::Time start = absl::Now();
  absl::StatusOr<Unpacked> out = [&]() -> absl::StatusOr<Unpacked> {
    FdSource file(fd.get());
    TimedSource arriving(bytes);
    HashingSource compressed(bytes != nullptr ? static_cast<ByteSource*>(&arriving) : &file);
    std::unique_ptr<ByteSource> decompressed;
    if (compression == Compression::kNone) {
      decompressed = std::make_unique<PassThrough>(&compressed);
    } else {
      STRATA_ASSIGN_OR_RETURN(decompressed,
                              NewDecompressor(compression, &compressed, options_.gzip));
    }
    // For an uncompressed layer the blob digest is the diff_id: hash once.
    HashingSource tar(decompressed.get());
    ByteSource* tar_stream = compression == Compression::kNone ? decompressed.get() : &tar;
    // Reading, hashing and decompressing run a few chunks ahead of extraction.
    PipelinedSource pipelined(tar_stream);
    Unpacked u;
    u.dir_id = dir;
    u.compression = compression;
    STRATA_ASSIGN_OR_RETURN(
        u.result, ExtractLayer(&pipelined, snapshots_->layout().FilesDir(dir), options_.limits));
    STRATA_RETURN_IF_ERROR(Drain(&pipelined));  // padding after the end marker is hashed too
    Digest blob_digest = compressed.Finish();
    if (blob_digest != blob.digest || compressed.bytes() != blob.size) {
      return absl::DataLossError(absl::StrCat("blob is ", compressed.bytes(), " bytes with digest ",
                                              blob_digest.str(), ", expected ", blob.size,
                                              " bytes with digest ", blob.digest.str()));
    }
    u.diff_id = compression == Compression::kNone ? blob_digest : tar.Finish();
    STRATA_RETURN_IF_ERROR(WriteFileDurably(snapshots_->layout().SnapshotDir(dir) + "/sums",
                                            EncodeSums(u.result.files), 0600));
    Counters().NoteUnpack(compressed.bytes(),
                          compression == Compression::kNone ? compressed.bytes() : tar.bytes(),
                          absl::Now() - start - arriving.waited());
    return u;
  }();
  if (!out.ok()) {
    snapshots_->DiscardLayerDirectory(dir);
    return Annotate(out.status(), absl::StrCat("layer ", blob.digest.str()));
  }
  return out;
}

absl::StatusOr<Unpacker::Unpacked> Unpacker::UnpackOne(const LayerToUnpack& layer) {
  STRATA_ASSIGN_OR_RETURN(Unpacked u, Extract(layer.blob));
  if (u.diff_id != layer.diff_id) {
    snapshots_->DiscardLayerDirectory(u.dir_id);
    return absl::DataLossError(absl::StrCat("layer ", layer.blob.digest.str(),
                                            ": uncompressed digest ", u.diff_id.str(),
                                            " does not match diff_id ", layer.diff_id.str()));
  }
  return u;
}

absl::StatusOr<std::vector<Digest>> Unpacker::UnpackChain(const std::vector<LayerToUnpack>& layers,
                                                          const Digest& parent_chain,
                                                          const ProgressFn& progress,
                                                          const std::string& lease) {
  return UnpackChainWith(layers, parent_chain, progress, lease, nullptr);
}

bool Unpacker::IsUnpacked(const Digest& chain) const {
  return snapshots_->GetLayer(chain.str()).ok();
}

absl::Status Unpacker::PlanChain(const std::vector<LayerToUnpack>& layers,
                                 const Digest& parent_chain, const std::string& lease,
                                 std::vector<Digest>* chains, std::vector<size_t>* todo) {
  // What is unpacked is a prefix of the chain (a layer keeps its parent). It
  // is made visible as native snapshots (it may be only in containerd's key
  // space) and held by the lease at once: garbage collection may take it
  // until then. If it went in between, plan again.
  for (int attempt = 0;; ++attempt) {
    if (!parent_chain.empty()) {
      STRATA_RETURN_IF_ERROR(snapshots_->GetLayer(parent_chain.str()).status());
    }
    chains->clear();
    todo->clear();
    Digest chain = parent_chain;
    Digest present = parent_chain;
    for (size_t i = 0; i < layers.size(); ++i) {
      chain = ChainId(chain, layers[i].diff_id);
      chains->push_back(chain);
      if (snapshots_->GetLayer(chain.str()).ok()) {
        present = chain;
      } else {
        todo->push_back(i);
      }
    }
    if (present.empty()) return absl::OkStatus();
    absl::Status held =
        snapshots_->AdoptLayerChain(snapshotter::KeySpace::kNative, present.str(), lease);
    if (!absl::IsNotFound(held) || attempt == 2) return held;
  }
}

absl::Status Unpacker::PruneWhiteouts(
    const Digest& parent_chain, const std::vector<Digest>& chains, const std::vector<size_t>& todo,
    const std::vector<std::optional<absl::StatusOr<Unpacked>>>& results) {
  bool any = false;
  for (size_t i : todo) any |= !(*results[i])->result.whiteouts.empty();
  if (!any) return absl::OkStatus();  // the chain's directories are not needed
  // The layer directories below the one at hand, nearest first.
  std::vector<std::string> lowers;
  for (std::string c = parent_chain.empty() ? "" : parent_chain.str(); !c.empty();) {
    STRATA_ASSIGN_OR_RETURN(snapshotter::Snapshotter::LayerInfo l, snapshots_->GetLayer(c));
    lowers.push_back(snapshots_->layout().FilesDir(l.dir_id));
    c = l.parent_chain_id;
  }
  std::set<size_t> fresh(todo.begin(), todo.end());
  for (size_t i = 0; i < chains.size(); ++i) {
    uint64_t dir_id;
    if (fresh.count(i)) {
      const Unpacked& u = **results[i];
      dir_id = u.dir_id;
      std::string dir = snapshots_->layout().FilesDir(dir_id);
      STRATA_RETURN_IF_ERROR(DropIdleWhiteouts(dir, u.result.whiteouts, lowers).status());
    } else {
      STRATA_ASSIGN_OR_RETURN(snapshotter::Snapshotter::LayerInfo l,
                              snapshots_->GetLayer(chains[i].str()));
      dir_id = l.dir_id;
    }
    lowers.insert(lowers.begin(), snapshots_->layout().FilesDir(dir_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Digest>> Unpacker::UnpackChainWith(
    const std::vector<LayerToUnpack>& layers, const Digest& parent_chain,
    const ProgressFn& progress, const std::string& lease, UnpackSession* session) {
  std::vector<Digest> chains;
  std::vector<size_t> todo;
  STRATA_RETURN_IF_ERROR(PlanChain(layers, parent_chain, lease, &chains, &todo));

  // The largest layer is the critical path: start it first.
  std::sort(todo.begin(), todo.end(),
            [&layers](size_t a, size_t b) { return layers[a].blob.size > layers[b].blob.size; });
  absl::Time started = absl::Now();
  std::vector<std::optional<absl::StatusOr<Unpacked>>> results(layers.size());
  std::atomic<size_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex progress_mu;
  auto report = [&](int64_t n) {
    if (!progress) return;
    std::lock_guard<std::mutex> l(progress_mu);
    progress("unpack", n, static_cast<int64_t>(todo.size()));
  };
  report(0);
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < todo.size();) {
      const LayerToUnpack& layer = layers[todo[k]];
      std::optional<absl::StatusOr<Unpacked>> early;
      if (session != nullptr) early = session->Claim(layer.blob.digest);
      absl::StatusOr<Compression> want = LayerCompression(layer.blob.media_type);
      if (early && early->ok() && want.ok() && (*early)->compression == *want &&
          (*early)->diff_id == layer.diff_id) {
        results[todo[k]] = std::move(*early);  // unpacked while the archive was still arriving
      } else {
        if (early && early->ok()) snapshots_->DiscardLayerDirectory((*early)->dir_id);
        results[todo[k]] = UnpackOne(layer);
      }
      report(++done);
    }
  };
  {
    // Helpers on the shared pool take layers as this thread does; those
    // still queued when this thread runs out of layers never start.
    TaskGroup helpers(pool_.get());
    int wanted = std::min<int>(pool_->threads(), static_cast<int>(todo.size())) - 1;
    for (int t = 0; t < wanted; ++t) helpers.Submit(worker);
    worker();
  }

  // From here every exit discards the directories not recorded (RAII).
  PendingLayerDirs pending(snapshots_);
  absl::Status first_error;
  for (size_t i : todo) {
    if (results[i]->ok()) pending.Add((*results[i])->dir_id);
    if (!results[i]->ok() && first_error.ok()) first_error = results[i]->status();
  }
  STRATA_RETURN_IF_ERROR(first_error);
  STRATA_RETURN_IF_ERROR(PruneWhiteouts(parent_chain, chains, todo, results));
  // One syncfs makes every unpacked layer durable before any is recorded.
  absl::Time extracted = absl::Now();
  if (!todo.empty()) {
    absl::Status s = SyncFilesystem(snapshots_->layout().SnapshotsDir());
    log::Info("unpacked layers",
              {{"layers", std::to_string(todo.size())},
               {"extract_seconds", absl::StrCat(absl::ToDoubleSeconds(extracted - started))},
               {"sync_seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - extracted))}});
    STRATA_RETURN_IF_ERROR(s);
  }
  std::sort(todo.begin(), todo.end());  // recorded bottom-up
  for (size_t i : todo) {
    const Unpacked& u = **results[i];
    snapshotter::Snapshotter::LayerInfo info;
    info.chain_id = chains[i].str();
    info.parent_chain_id = i == 0 ? parent_chain.str() : chains[i - 1].str();
    if (i == 0 && parent_chain.empty()) info.parent_chain_id.clear();
    info.diff_id = layers[i].diff_id.str();
    info.blob_digest = layers[i].blob.digest.str();
    info.blob_media_type = layers[i].blob.media_type;
    info.blob_size = layers[i].blob.size;
    info.unpacked_bytes = u.result.logical_bytes;
    info.entries = u.result.entries;
    absl::Status s =
        snapshots_->RecordUnpackedLayer(snapshotter::KeySpace::kNative, info, u.dir_id, lease);
    if (s.ok()) {
      pending.Recorded(u.dir_id);
    } else if (absl::IsAlreadyExists(s)) {
      // A concurrent import recorded it first: this copy is discarded, that one held.
      if (!lease.empty()) {
        STRATA_RETURN_IF_ERROR(
            snapshots_->AdoptLayerChain(snapshotter::KeySpace::kNative, info.chain_id, lease));
      }
    } else {
      return s;
    }
  }
  return chains;
}

struct UnpackSession::Slot {
  bool started = false;
  bool done = false;
  bool claimed = false;
  std::optional<absl::StatusOr<Unpacker::Unpacked>> result;
};

UnpackSession::UnpackSession(Unpacker* unpacker)
    : unpacker_(unpacker), prefetches_(unpacker->pool_.get()) {}

UnpackSession::~UnpackSession() {
  prefetches_.Close();  // those not started never will; running ones finish
  MutexLock l(&mu_);
  for (auto& [digest, slot] : slots_) {
    if (slot->done && !slot->claimed && slot->result->ok()) {
      unpacker_->snapshots_->DiscardLayerDirectory((*slot->result)->dir_id);
    }
  }
}

void UnpackSession::Prefetch(const Descriptor& blob, std::shared_ptr<GrowingFile> arriving) {
  MutexLock l(&mu_);
  if (slots_.count(blob.digest)) return;
  auto slot = std::make_shared<Slot>();
  slots_[blob.digest] = slot;
  prefetches_.Submit(
      [this, blob, slot, arriving = std::move(arriving)] { Run(blob, slot, arriving); });
}

void UnpackSession::Run(const Descriptor& blob, const std::shared_ptr<Slot>& slot,
                        const std::shared_ptr<GrowingFile>& arriving) {
  {
    MutexLock l(&mu_);
    if (slot->started) return;  // claimed before it began: its claimer unpacks it
    slot->started = true;
  }
  std::optional<GrowingFileSource> stream;
  if (arriving != nullptr) stream.emplace(arriving);
  absl::StatusOr<Unpacker::Unpacked> r = unpacker_->Extract(blob, stream ? &*stream : nullptr);
  MutexLock l(&mu_);
  slot->result = std::move(r);
  slot->done = true;
}

std::optional<absl::StatusOr<Unpacker::Unpacked>> UnpackSession::Claim(const Digest& blob) {
  MutexLock l(&mu_);
  auto it = slots_.find(blob);
  if (it == slots_.end() || it->second->claimed) return std::nullopt;
  std::shared_ptr<Slot> slot = it->second;
  slot->claimed = true;
  if (!slot->started) {
    // Not begun yet: the caller unpacks it itself, now, rather than wait for
    // a task still queued behind other work (which could be its own).
    slot->started = true;
    return std::nullopt;
  }
  auto done = [&slot]() { return slot->done; };
  mu_.Await(done);
  return std::move(slot->result);
}

absl::StatusOr<std::vector<Digest>> UnpackSession::UnpackChain(
    const std::vector<LayerToUnpack>& layers, const Digest& parent_chain,
    const ProgressFn& progress, const std::string& lease) {
  return unpacker_->UnpackChainWith(layers, parent_chain, progress, lease, this);
}

std::string SniffLayerMediaType(absl::string_view head) {
  if (absl::StartsWith(head, "\x1f\x8b")) return media_type::kOciLayerGzip;
  if (absl::StartsWith(head, "\x28\xb5\x2f\xfd")) return media_type::kOciLayerZstd;
  if (head.size() >= 262 && head.substr(257, 5) == "ustar") return media_type::kOciLayer;
  return "";
}

}  // namespace strata::layerstore
