#include "registry/puller.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/run_each.h"
#include "common/status_util.h"
#include "layerstore/work_counters.h"

namespace strata::registry {
namespace {

using layerstore::Descriptor;
using layerstore::Digest;

// How long a pull waits for another call that is downloading the same blob.
constexpr absl::Duration kWaitForOtherDownload = absl::Minutes(30);

std::string PlatformName(const layerstore::Platform& p) {
  return absl::StrCat(p.os, "/", p.architecture, p.variant.empty() ? "" : "/", p.variant);
}

}  // namespace

absl::StatusOr<layerstore::Platform> ParsePlatform(absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  bool ok = parts.size() == 2 || parts.size() == 3;
  for (const std::string& p : parts) ok = ok && !p.empty();
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("platform \"", text, "\": expected os/arch[/variant], as linux/amd64"));
  }
  layerstore::Platform p;
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

Puller::Puller(RegistryClient* client, layerstore::ContentStore* content,
               layerstore::ImageStore* images, layerstore::Unpacker* unpacker,
               PullerOptions options)
    : client_(client), content_(content), images_(images), unpacker_(unpacker), options_(options) {}

absl::StatusOr<Puller::Target> Puller::FetchManifest(const ImageRef& ref,
                                                     const PullOptions& options) {
  STRATA_ASSIGN_OR_RETURN(RegistryClient::Manifest top, client_->GetManifest(ref, ref.Object()));
  Target t;
  t.target = {top.media_type, top.digest, static_cast<int64_t>(top.bytes.size()), {}, {}};
  RegistryClient::Manifest manifest = top;
  // An index may point at indexes (the OCI image spec allows it): followed,
  // a few levels at most, each stored for the image to stay whole.
  constexpr int kMaxIndexDepth = 4;
  for (int depth = 0; layerstore::IsIndexType(manifest.media_type); ++depth) {
    if (depth == kMaxIndexDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat(ref.String(), ": indexes nested deeper than ", kMaxIndexDepth));
    }
    STRATA_ASSIGN_OR_RETURN(layerstore::Index index,
                            layerstore::ParseIndex(manifest.bytes, ref.String()));
    const Descriptor* pick = nullptr;
    for (const Descriptor& d : index.manifests) {
      if (layerstore::IsManifestType(d.media_type) &&
          layerstore::PlatformMatches(options.platform, d.platform)) {
        pick = &d;
        break;
      }
    }
    for (const Descriptor& d : index.manifests) {
      // A nested index with no platform may hold any; one with a platform, that one.
      if (pick == nullptr && layerstore::IsIndexType(d.media_type) &&
          (!d.platform || layerstore::PlatformMatches(options.platform, d.platform))) {
        pick = &d;
      }
    }
    if (pick == nullptr) {
      return absl::NotFoundError(absl::StrCat(ref.String(), ": no manifest for platform ",
                                              PlatformName(options.platform)));
    }
    STRATA_RETURN_IF_ERROR(
        content_->Put(manifest.bytes, manifest.media_type, options.lease).status());
    RegistryClient::Manifest next;
    STRATA_ASSIGN_OR_RETURN(next, client_->GetManifest(ref, pick->digest.str()));
    if (static_cast<int64_t>(next.bytes.size()) != pick->size) {
      return absl::DataLossError(absl::StrCat(ref.Name(), "@", pick->digest.str(),
                                              ": the registry sent ", next.bytes.size(),
                                              " bytes, the index says ", pick->size));
    }
    next.media_type = pick->media_type;
    manifest = std::move(next);
  }
  if (!layerstore::IsManifestType(manifest.media_type)) {
    return absl::FailedPreconditionError(
        absl::StrCat(ref.String(), ": the registry answered media type \"", manifest.media_type,
                     "\", not an image manifest or index"));
  }
  t.manifest = {
      manifest.media_type, manifest.digest, static_cast<int64_t>(manifest.bytes.size()), {}, {}};
  STRATA_ASSIGN_OR_RETURN(t.parsed, layerstore::ParseManifest(manifest.bytes, ref.String()));
  // An OCI artifact (a Helm chart, a signature) is a manifest too: said so,
  // before any of its blobs is fetched.
  if (!layerstore::IsConfigType(t.parsed.config.media_type)) {
    return absl::FailedPreconditionError(
        absl::StrCat(ref.String(), ": not a container image (config media type \"",
                     t.parsed.config.media_type, "\")"));
  }
  STRATA_RETURN_IF_ERROR(
      content_->Put(manifest.bytes, manifest.media_type, options.lease).status());
  return t;
}

absl::Status Puller::CheckConfigPlatform(const ImageRef& ref, const layerstore::ImageConfig& config,
                                         const layerstore::Platform& want) {
  // A lone manifest says its platform only in its config.
  const layerstore::Platform& have = config.platform;
  if (have.os.empty() || have.architecture.empty()) return absl::OkStatus();  // unstated
  if (layerstore::PlatformMatches(want, have)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(ref.String(), " is for ", PlatformName(have),
                                          ", not for platform ", PlatformName(want)));
}

absl::StatusOr<std::string> Puller::FetchConfig(const ImageRef& ref, const Descriptor& desc,
                                                const std::string& lease) {
  constexpr int64_t kMaxSmallBlob = 4 << 20;
  if (content_->Info(desc.digest).ok()) {
    STRATA_RETURN_IF_ERROR(content_->Hold(desc.digest, lease));
    return content_->ReadAt(desc.digest, 0, static_cast<size_t>(desc.size));
  }
  if (desc.size > kMaxSmallBlob) {
    return absl::ResourceExhaustedError(absl::StrCat(ref.Name(), "@", desc.digest.str(),
                                                     ": config over ", kMaxSmallBlob, " bytes"));
  }
  std::string bytes;
  STRATA_RETURN_IF_ERROR(client_->GetBlob(
      ref, desc.digest, 0,
      [&bytes](int64_t) {
        bytes.clear();
        return absl::OkStatus();
      },
      [&](const char* data, size_t n) {
        if (static_cast<int64_t>(bytes.size() + n) > kMaxSmallBlob) {
          return absl::ResourceExhaustedError(absl::StrCat(desc.digest.str(), ": too large"));
        }
        bytes.append(data, n);
        return absl::OkStatus();
      }));
  if (layerstore::Sha256Of(bytes) != desc.digest ||
      static_cast<int64_t>(bytes.size()) != desc.size) {
    return absl::DataLossError(
        absl::StrCat(ref.Name(), "@", desc.digest.str(), ": the registry sent other bytes"));
  }
  STRATA_RETURN_IF_ERROR(content_->Put(bytes, desc.media_type, lease).status());
  return bytes;
}

absl::Status Puller::FetchLayerBlob(const ImageRef& ref, const Descriptor& desc, bool unpack,
                                    const LayerFetch& fetch) {
  const std::string ingest = absl::StrCat("pull-", desc.digest.hex());
  const absl::Time give_up = absl::Now() + kWaitForOtherDownload;
  int watched_failures = 0;
  while (true) {
    std::shared_ptr<layerstore::GrowingFile> other;
    std::shared_ptr<layerstore::GrowingFile> mine;
    std::unique_ptr<layerstore::Writer> writer;
    {
      MutexLock l(&mu_);
      if (content_->Info(desc.digest).ok()) {
        fetch.moved(desc.size);  // stored already: nothing left to fetch
        if (unpack) fetch.session->Prefetch(desc);
        return content_->Hold(desc.digest, fetch.options->lease);
      }
      auto it = downloads_.find(desc.digest);
      if (it != downloads_.end()) {
        other = it->second;
      } else {
        absl::StatusOr<std::unique_ptr<layerstore::Writer>> opened =
            content_->OpenWriter(ingest, fetch.options->lease);
        if (opened.ok()) {
          STRATA_ASSIGN_OR_RETURN(UniqueFd reader, (*opened)->OpenReader());
          mine = std::make_shared<layerstore::GrowingFile>(std::move(reader), (*opened)->offset());
          writer = std::move(*opened);
          downloads_[desc.digest] = mine;
        } else if (!absl::IsUnavailable(opened.status()) || absl::Now() >= give_up) {
          return opened.status();
        }
        // Unavailable: a client holds that ingest through the content API. Wait.
      }
    }
    if (other != nullptr) {
      if (unpack) fetch.session->Prefetch(desc, other);
      absl::Status s = Watch(*other, fetch);
      if (!s.ok() && (fetch.abandon->load() || ++watched_failures > 1)) return s;
      continue;  // stored now, or failed there: take it over
    }
    if (mine == nullptr) {
      STRATA_RETURN_IF_ERROR(fetch.options->cancel.Check("pull"));
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    if (unpack) fetch.session->Prefetch(desc, mine);
    absl::Status s = DownloadInto(ref, desc, *writer, *mine, fetch);
    writer.reset();  // an uncommitted ingest stays, to resume
    mine->Finish(s);
    MutexLock l(&mu_);
    downloads_.erase(desc.digest);
    return s;
  }
}

absl::Status Puller::Watch(layerstore::GrowingFile& download, const LayerFetch& fetch) {
  int64_t seen = 0;
  bool finished = false;
  while (!finished) {
    absl::StatusOr<int64_t> size = download.WaitForChange(seen, absl::Milliseconds(200), &finished);
    if (!size.ok()) {
      fetch.moved(-seen);
      return size.status();
    }
    fetch.moved(*size - seen);
    seen = *size;
    if (fetch.abandon->load()) {
      fetch.moved(-seen);
      return absl::CancelledError("another layer of the pull failed");
    }
    if (fetch.options->cancel.cancelled()) {
      fetch.moved(-seen);
      return fetch.options->cancel.Check("pull");
    }
  }
  fetch.moved(-seen);  // the loop counts the stored blob
  return absl::OkStatus();
}

absl::Status Puller::DownloadInto(const ImageRef& ref, const Descriptor& desc,
                                  layerstore::Writer& w, layerstore::GrowingFile& file,
                                  const LayerFetch& fetch) {
  fetch.moved(w.offset());  // resumed bytes count as fetched
  // An ingest that already holds every byte (a daemon killed before it
  // committed) needs no request: a Range from its end would be refused.
  auto start_over_at = [&](int64_t from) {
    fetch.moved(from - w.offset());
    file.Grew(from);  // before the bytes go, so readers wait for them
    return w.Truncate(from);
  };
  const absl::Duration timeout = options_.download_timeout;
  const absl::Time deadline =
      timeout > absl::ZeroDuration() ? absl::Now() + timeout : absl::InfiniteFuture();
  const Cancellation& client = fetch.options->cancel;
  // Asked while bytes flow and while they do not.
  Cancellation stop(
      [&] { return fetch.abandon->load() || client.cancelled() || absl::Now() > deadline; });
  int stalls = 0;
  for (int attempt = 0; w.offset() < desc.size; ++attempt) {
    int64_t before = w.offset();
    absl::Status s = client_->GetBlob(
        ref, desc.digest, w.offset(),
        [&](int64_t from) {
          // The registry ignored Range: start over.
          return from == w.offset() ? absl::OkStatus() : start_over_at(from);
        },
        [&](const char* data, size_t n) {
          if (fetch.abandon->load()) {
            return absl::CancelledError("another layer of the pull failed");
          }
          if (w.offset() + static_cast<int64_t>(n) > desc.size) {
            return absl::DataLossError(
                absl::StrCat(desc.digest.str(), ": more bytes than its ", desc.size));
          }
          STRATA_RETURN_IF_ERROR(w.Write(data, n));
          file.Grew(w.offset());
          layerstore::Counters().pulled_bytes += static_cast<int64_t>(n);  // crossed the wire
          fetch.moved(static_cast<int64_t>(n));
          return absl::OkStatus();
        },
        &stop);
    if (s.ok()) break;
    if (absl::IsCancelled(s)) {
      STRATA_RETURN_IF_ERROR(client.Check(absl::StrCat("pull ", ref.Name())));
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            ref.Name(), "@", desc.digest.str(), ": not downloaded within ",
            absl::FormatDuration(timeout), " (", w.offset(), " of ", desc.size, " bytes)"));
      }
      if (fetch.abandon->load()) return absl::CancelledError("another layer of the pull failed");
      return s;
    }
    if (absl::IsDeadlineExceeded(s)) {
      // A stall counts against the resumes however many bytes it let
      // through: a blob dripped a byte a second must not go on for a day.
      if (++stalls > fetch.options->resumes) return s;
      log::Info("resuming stalled blob download",
                {{"blob", desc.digest.str()}, {"offset", std::to_string(w.offset())}});
      continue;
    }
    if (absl::IsOutOfRange(s) && w.offset() > 0) {
      // 416: the registry will not serve from there; fetch it whole.
      STRATA_RETURN_IF_ERROR(start_over_at(0));
      continue;
    }
    // A dropped connection that moved the download on resumes; one that
    // moved nothing counts against the resumes allowed.
    if (!absl::IsUnavailable(s) || (attempt >= fetch.options->resumes && w.offset() == before)) {
      return s;
    }
    log::Info("resuming blob download", {{"blob", desc.digest.str()},
                                         {"offset", std::to_string(w.offset())},
                                         {"err", s.ToString()}});
  }
  absl::StatusOr<layerstore::BlobInfo> committed = w.Commit(
      desc.size, desc.digest, {{SourceLabel(ref.domain), ref.repository}}, desc.media_type);
  if (committed.ok() || absl::IsAlreadyExists(committed.status())) {
    return content_->Hold(desc.digest, fetch.options->lease);
  }
  if (absl::IsDataLoss(committed.status())) {
    return absl::DataLossError(absl::StrCat(ref.Name(), "@", desc.digest.str(),
                                            ": the registry sent other bytes (",
                                            committed.status().message(), ")"));
  }
  return committed.status();
}

absl::Status Puller::FetchLayerBlobs(const ImageRef& ref, const std::vector<Descriptor>& layers,
                                     const std::vector<bool>& unpacked, const PullOptions& options,
                                     layerstore::UnpackSession* session,
                                     const layerstore::ProgressFn& progress) {
  int64_t total = 0;
  for (const Descriptor& l : layers) total += l.size;
  std::atomic<int64_t> fetched{0};
  std::atomic<bool> abandon{false};
  LayerFetch fetch{&options, session,
                   [&](int64_t n) {
                     int64_t now = fetched += n;
                     if (progress && n != 0) progress("fetch", now, total);
                   },
                   &abandon};
  // The largest layers first: their unpack, which follows their bytes, is
  // the critical path.
  std::vector<size_t> order(layers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return layers[a].size > layers[b].size; });
  return FirstFailure(RunEach(
      order.size(), options_.parallel_downloads,
      [&](size_t k) { return FetchLayerBlob(ref, layers[order[k]], !unpacked[order[k]], fetch); },
      &abandon));
}

namespace {

void CountPull(const absl::StatusOr<layerstore::ImportedImage>& pulled) {
  if (!pulled.ok()) return;
  ++layerstore::Counters().pulls;
  layerstore::Counters().pulled_layers += pulled->chain_ids.size();
}

}  // namespace

struct Puller::Flight {
  Mutex mu;
  int64_t version ABSL_GUARDED_BY(mu) = 0;  // changes with every report
  std::string phase ABSL_GUARDED_BY(mu);
  int64_t done ABSL_GUARDED_BY(mu) = 0;
  int64_t total ABSL_GUARDED_BY(mu) = 0;
  bool finished ABSL_GUARDED_BY(mu) = false;
};

void Puller::Follow(Flight& flight, const Cancellation& cancel,
                    const layerstore::ProgressFn& progress) {
  int64_t seen = 0;
  while (!cancel.cancelled()) {
    std::string phase;
    int64_t done = 0, total = 0;
    {
      MutexLock l(&flight.mu);
      flight.mu.AwaitWithTimeout(
          [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flight.mu) {
            return flight.finished || flight.version != seen;
          },
          absl::Seconds(1));
      if (flight.finished) return;
      if (flight.version == seen) continue;
      seen = flight.version;
      phase = flight.phase;
      done = flight.done;
      total = flight.total;
    }
    if (progress) progress(phase, done, total);
  }
}

absl::StatusOr<layerstore::ImportedImage> Puller::Pull(const ImageRef& ref,
                                                       const PullOptions& options,
                                                       const layerstore::ProgressFn& progress) {
  STRATA_ASSIGN_OR_RETURN(Target t, FetchManifest(ref, options));
  std::shared_ptr<Flight> flight;
  bool lead = false;
  {
    MutexLock l(&mu_);
    std::shared_ptr<Flight>& slot = flights_[t.manifest.digest];
    lead = slot == nullptr;
    if (lead) slot = std::make_shared<Flight>();
    flight = slot;
  }
  if (!lead) {
    // Whatever its outcome, what it stored is reused below; if it failed,
    // this pull fetches the rest itself.
    Follow(*flight, options.cancel, progress);
    STRATA_RETURN_IF_ERROR(options.cancel.Check(absl::StrCat("pull ", ref.Name())));
    absl::StatusOr<layerstore::ImportedImage> out = PullManifest(ref, t, options, progress);
    CountPull(out);
    return out;
  }
  absl::StatusOr<layerstore::ImportedImage> out =
      PullManifest(ref, t, options, [&](const std::string& phase, int64_t done, int64_t total) {
        {
          MutexLock l(&flight->mu);
          ++flight->version;
          flight->phase = phase;
          flight->done = done;
          flight->total = total;
        }
        if (progress) progress(phase, done, total);
      });
  {
    MutexLock l(&flight->mu);
    flight->finished = true;
  }
  CountPull(out);
  MutexLock l(&mu_);
  flights_.erase(t.manifest.digest);
  return out;
}

absl::StatusOr<layerstore::ImportedImage> Puller::PullManifest(
    const ImageRef& ref, const Target& t, const PullOptions& options,
    const layerstore::ProgressFn& progress) {
  STRATA_ASSIGN_OR_RETURN(std::string config, FetchConfig(ref, t.parsed.config, options.lease));
  absl::StatusOr<layerstore::ImageConfig> parsed = layerstore::ParseConfig(config, ref.String());
  if (!layerstore::IsIndexType(t.target.media_type)) {
    STRATA_RETURN_IF_ERROR(parsed.status());
    STRATA_RETURN_IF_ERROR(CheckConfigPlatform(ref, *parsed, options.platform));
  }
  // Layers unpacked already are not unpacked again. (A config that does not
  // match its manifest is refused by UnpackImage; until then, unpack all.)
  std::vector<bool> unpacked(t.parsed.layers.size(), false);
  if (parsed.ok() && parsed->diff_ids.size() == unpacked.size()) {
    std::vector<Digest> chains = layerstore::ChainIds(parsed->diff_ids);
    for (size_t i = 0; i < chains.size(); ++i) unpacked[i] = unpacker_->IsUnpacked(chains[i]);
  }
  for (const Descriptor& l : t.parsed.layers) {
    if (l.size > options_.max_layer_blob_bytes || l.size < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat(ref.Name(), "@", l.digest.str(), ": a layer of ", l.size,
                       " bytes, over the limit of ", options_.max_layer_blob_bytes));
    }
  }
  layerstore::UnpackSession session(unpacker_);
  STRATA_RETURN_IF_ERROR(
      FetchLayerBlobs(ref, t.parsed.layers, unpacked, options, &session, progress));
  STRATA_ASSIGN_OR_RETURN(layerstore::ImportedImage img,
                          layerstore::UnpackImage(content_, *images_, &session, t.target,
                                                  t.manifest, options.lease, progress));
  // The last point to stop: a client gone by now gets no image named for it.
  STRATA_RETURN_IF_ERROR(options.cancel.Check(absl::StrCat("pull ", ref.Name())));
  img.info.name = options.name.empty() ? ref.String() : options.name;
  if (!options.record_image) return img;
  STRATA_ASSIGN_OR_RETURN(img.info, images_->Put(img.info));
  return img;
}

}  // namespace strata::registry
