#include "registry/puller.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status_util.h"

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
               layerstore::ImageStore* images, layerstore::Unpacker* unpacker)
    : client_(client), content_(content), images_(images), unpacker_(unpacker) {}

absl::StatusOr<Puller::Target> Puller::FetchManifest(const ImageRef& ref,
                                                     const PullOptions& options) {
  STRATA_ASSIGN_OR_RETURN(RegistryClient::Manifest top, client_->GetManifest(ref, ref.Object()));
  Target t;
  t.target = {top.media_type, top.digest, static_cast<int64_t>(top.bytes.size()), {}, {}};
  RegistryClient::Manifest manifest = top;
  if (layerstore::IsIndexType(top.media_type)) {
    STRATA_ASSIGN_OR_RETURN(layerstore::Index index,
                            layerstore::ParseIndex(top.bytes, ref.String()));
    const Descriptor* pick = nullptr;
    for (const Descriptor& d : index.manifests) {
      if (layerstore::IsManifestType(d.media_type) &&
          layerstore::PlatformMatches(options.platform, d.platform)) {
        pick = &d;
        break;
      }
    }
    if (pick == nullptr) {
      return absl::NotFoundError(absl::StrCat(ref.String(), ": no manifest for platform ",
                                              PlatformName(options.platform)));
    }
    STRATA_ASSIGN_OR_RETURN(manifest, client_->GetManifest(ref, pick->digest.str()));
    if (static_cast<int64_t>(manifest.bytes.size()) != pick->size) {
      return absl::DataLossError(absl::StrCat(ref.Name(), "@", pick->digest.str(),
                                              ": the registry sent ", manifest.bytes.size(),
                                              " bytes, the index says ", pick->size));
    }
    manifest.media_type = pick->media_type;
    STRATA_RETURN_IF_ERROR(content_->Put(top.bytes, top.media_type, options.lease).status());
  } else if (!layerstore::IsManifestType(top.media_type)) {
    return absl::FailedPreconditionError(
        absl::StrCat(ref.String(), ": the registry answered media type \"", top.media_type,
                     "\", not an image manifest or index"));
  }
  t.manifest = {
      manifest.media_type, manifest.digest, static_cast<int64_t>(manifest.bytes.size()), {}, {}};
  STRATA_ASSIGN_OR_RETURN(t.parsed, layerstore::ParseManifest(manifest.bytes, ref.String()));
  STRATA_RETURN_IF_ERROR(
      content_->Put(manifest.bytes, manifest.media_type, options.lease).status());
  return t;
}

absl::Status Puller::CheckConfigPlatform(const ImageRef& ref, const std::string& config,
                                         const layerstore::Platform& want) {
  // A lone manifest says its platform only in its config.
  STRATA_ASSIGN_OR_RETURN(layerstore::ImageConfig parsed,
                          layerstore::ParseConfig(config, ref.String()));
  const layerstore::Platform& have = parsed.platform;
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

absl::Status Puller::FetchLayerBlob(const ImageRef& ref, const Descriptor& desc,
                                    const PullOptions& options,
                                    const std::function<void(int64_t)>& moved) {
  const std::string ingest = absl::StrCat("pull-", desc.digest.hex());
  absl::Time give_up = absl::Now() + kWaitForOtherDownload;
  while (true) {
    if (content_->Info(desc.digest).ok()) {
      moved(desc.size);  // stored already: nothing left to fetch
      return content_->Hold(desc.digest, options.lease);
    }
    absl::StatusOr<std::unique_ptr<layerstore::Writer>> opened =
        content_->OpenWriter(ingest, options.lease);
    if (absl::IsUnavailable(opened.status()) && absl::Now() < give_up) {
      // Another call is downloading this blob: wait for it to land.
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    STRATA_RETURN_IF_ERROR(opened.status());
    layerstore::Writer& w = **opened;
    moved(w.offset());  // resumed bytes count as fetched
    // An ingest that already holds every byte (a daemon killed before it
    // committed) needs no request: a Range from its end would be refused.
    for (int attempt = 0; w.offset() < desc.size; ++attempt) {
      int64_t before = w.offset();
      absl::Status s = client_->GetBlob(
          ref, desc.digest, w.offset(),
          [&](int64_t from) {
            if (from == w.offset()) return absl::OkStatus();
            moved(from - w.offset());  // the registry ignored Range: start over
            return w.Truncate(from);
          },
          [&](const char* data, size_t n) {
            if (w.offset() + static_cast<int64_t>(n) > desc.size) {
              return absl::DataLossError(
                  absl::StrCat(desc.digest.str(), ": more bytes than its ", desc.size));
            }
            moved(static_cast<int64_t>(n));
            return w.Write(data, n);
          });
      if (s.ok()) break;
      if (absl::IsOutOfRange(s) && w.offset() > 0) {
        // 416: the registry will not serve from there; fetch it whole.
        moved(-w.offset());
        STRATA_RETURN_IF_ERROR(w.Truncate(0));
        continue;
      }
      // A dropped connection that moved the download on resumes; one that
      // moved nothing counts against the resumes allowed.
      if (!absl::IsUnavailable(s) || (attempt >= options.resumes && w.offset() == before)) {
        return s;
      }
      log::Info("resuming blob download", {{"blob", desc.digest.str()},
                                           {"offset", std::to_string(w.offset())},
                                           {"err", s.ToString()}});
    }
    absl::StatusOr<layerstore::BlobInfo> committed =
        w.Commit(desc.size, desc.digest, {}, desc.media_type);
    if (committed.ok() || absl::IsAlreadyExists(committed.status())) {
      return content_->Hold(desc.digest, options.lease);
    }
    if (absl::IsDataLoss(committed.status())) {
      return absl::DataLossError(absl::StrCat(ref.Name(), "@", desc.digest.str(),
                                              ": the registry sent other bytes (",
                                              committed.status().message(), ")"));
    }
    return committed.status();
  }
}

absl::StatusOr<layerstore::ImportedImage> Puller::Pull(const ImageRef& ref,
                                                       const PullOptions& options,
                                                       const layerstore::ProgressFn& progress) {
  STRATA_ASSIGN_OR_RETURN(Target t, FetchManifest(ref, options));
  STRATA_ASSIGN_OR_RETURN(std::string config, FetchConfig(ref, t.parsed.config, options.lease));
  if (!layerstore::IsIndexType(t.target.media_type)) {
    STRATA_RETURN_IF_ERROR(CheckConfigPlatform(ref, config, options.platform));
  }
  int64_t total = 0;
  for (const Descriptor& l : t.parsed.layers) total += l.size;
  std::atomic<int64_t> fetched{0};
  auto moved = [&](int64_t n) {
    int64_t now = fetched += n;
    if (progress) progress("fetch", now, total);
  };
  // Each layer starts unpacking once its blob is stored, while the next downloads.
  layerstore::UnpackSession session(unpacker_);
  for (const Descriptor& layer : t.parsed.layers) {
    STRATA_RETURN_IF_ERROR(FetchLayerBlob(ref, layer, options, moved));
    session.Prefetch(layer);
  }
  STRATA_ASSIGN_OR_RETURN(layerstore::ImportedImage img,
                          layerstore::UnpackImage(content_, *images_, &session, t.target,
                                                  t.manifest, options.lease, progress));
  img.info.name = options.name.empty() ? ref.String() : options.name;
  STRATA_ASSIGN_OR_RETURN(img.info, images_->Put(img.info));
  return img;
}

}  // namespace strata::registry
