#include "registry/pusher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "common/run_each.h"
#include "common/status_util.h"
#include "layerstore/oci.h"
#include "layerstore/work_counters.h"

namespace strata::registry {
namespace {

using layerstore::Descriptor;
using layerstore::Digest;

}  // namespace

struct Pusher::Counts {
  std::atomic<int> present{0};
  std::atomic<int> mounted{0};
  std::atomic<int> uploaded{0};
  std::atomic<int64_t> bytes{0};
};

Pusher::Pusher(RegistryClient* client, layerstore::ContentStore* content,
               const layerstore::ImageStore* images, PusherOptions options)
    : client_(client), content_(content), images_(images), options_(options) {}

void Pusher::NoteSource(const ImageRef& ref, const Digest& digest) {
  absl::StatusOr<layerstore::BlobInfo> info = content_->Info(digest);
  if (!info.ok()) return;
  std::string& repos = info->labels[SourceLabel(ref.domain)];
  std::vector<std::string> list = absl::StrSplit(repos, ',', absl::SkipEmpty());
  if (std::find(list.begin(), list.end(), ref.repository) != list.end()) return;
  repos = repos.empty() ? ref.repository : absl::StrCat(repos, ",", ref.repository);
  // A lost label only costs a later mount: not worth failing the push for.
  (void)content_->SetLabels(digest, info->labels);
}

absl::Status Pusher::Upload(const ImageRef& ref, const Descriptor& desc, std::string url,
                            const std::function<void(int64_t)>& moved, const Cancellation& cancel) {
  STRATA_ASSIGN_OR_RETURN(UniqueFd fd, content_->OpenBlob(desc.digest));
  int64_t offset = 0;
  int stalled = 0;
  while (offset < desc.size) {
    const int64_t start = offset;
    RequestBody body;
    body.size = std::min(options_.chunk_bytes, desc.size - offset);
    body.read_at = [&fd, &cancel, start](int64_t at, char* buf,
                                         size_t n) -> absl::StatusOr<size_t> {
      STRATA_RETURN_IF_ERROR(cancel.Check("push"));
      ssize_t got;
      do {
        got = ::pread(fd.get(), buf, n, start + at);
      } while (got < 0 && errno == EINTR);
      if (got < 0) return ErrnoToStatus(errno, "read blob");
      return static_cast<size_t>(got);
    };
    absl::StatusOr<std::string> next = client_->UploadChunk(ref, url, offset, body);
    if (next.ok()) {
      url = *next;
      offset += body.size;
      moved(body.size);
      stalled = 0;
      continue;
    }
    if (!absl::IsUnavailable(next.status()) || ++stalled > options_.resumes) {
      return next.status();
    }
    // The connection dropped: the registry says how much it kept.
    absl::StatusOr<std::pair<int64_t, std::string>> held = client_->UploadOffset(ref, url);
    if (absl::IsUnavailable(held.status())) {
      absl::SleepFor(absl::Milliseconds(200) * stalled);
      continue;
    }
    if (!held.ok()) {
      // The registry gave the session up: distribution 2.8 cancels one whose
      // bytes outran its signed state, which a dropped PATCH leaves behind.
      // A new session, from the start.
      log::Info("restarting blob upload",
                {{"blob", desc.digest.str()}, {"err", held.status().ToString()}});
      STRATA_ASSIGN_OR_RETURN(url, client_->StartUpload(ref, Digest(), ""));
      moved(-offset);
      offset = 0;
      continue;
    }
    log::Info("resuming blob upload", {{"blob", desc.digest.str()},
                                       {"offset", std::to_string(held->first)},
                                       {"err", next.status().ToString()}});
    moved(held->first - offset);
    if (held->first > offset) stalled = 0;
    offset = held->first;
    url = held->second;
  }
  return client_->FinishUpload(ref, url, desc.digest);
}

absl::Status Pusher::PushBlob(const ImageRef& ref, const Descriptor& desc, Counts& counts,
                              const std::function<void(int64_t)>& moved,
                              const Cancellation& cancel) {
  STRATA_RETURN_IF_ERROR(cancel.Check("push"));
  STRATA_ASSIGN_OR_RETURN(bool present, client_->HasBlob(ref, desc.digest));
  if (present) {
    counts.present++;
    moved(desc.size);
    NoteSource(ref, desc.digest);
    return absl::OkStatus();
  }
  // Another repository of this registry that has it: mount it from there.
  std::string from;
  if (absl::StatusOr<layerstore::BlobInfo> info = content_->Info(desc.digest); info.ok()) {
    auto it = info->labels.find(SourceLabel(ref.domain));
    if (it != info->labels.end()) {
      for (absl::string_view repo : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
        if (repo != ref.repository) {
          from = std::string(repo);
          break;
        }
      }
    }
  }
  STRATA_ASSIGN_OR_RETURN(std::string url,
                          client_->StartUpload(ref, from.empty() ? Digest() : desc.digest, from));
  if (url.empty()) {
    counts.mounted++;
    moved(desc.size);
  } else {
    STRATA_RETURN_IF_ERROR(Upload(
        ref, desc, url,
        [&](int64_t n) {
          counts.bytes += n;
          moved(n);
        },
        cancel));
    counts.uploaded++;
  }
  NoteSource(ref, desc.digest);
  return absl::OkStatus();
}

absl::StatusOr<PushResult> Pusher::Push(const std::string& name, const ImageRef& ref,
                                        const layerstore::ProgressFn& progress,
                                        const Cancellation& cancel) {
  STRATA_ASSIGN_OR_RETURN(layerstore::ImageInfo info, images_->Get(name));
  // The manifests to push (each after its blobs), and what the tag names last.
  struct ManifestToPush {
    Descriptor desc;
    std::string bytes;
    layerstore::Manifest parsed;
  };
  std::vector<ManifestToPush> manifests;
  Descriptor top = info.target;
  std::string top_bytes;
  auto load_manifest = [&](const Descriptor& d) -> absl::StatusOr<ManifestToPush> {
    ManifestToPush m{d, "", {}};
    STRATA_ASSIGN_OR_RETURN(m.bytes, images_->ReadJsonBlob(d));
    STRATA_ASSIGN_OR_RETURN(m.parsed, layerstore::ParseManifest(m.bytes, d.digest.str()));
    return m;
  };
  if (layerstore::IsIndexType(info.target.media_type)) {
    STRATA_ASSIGN_OR_RETURN(top_bytes, images_->ReadJsonBlob(info.target));
    STRATA_ASSIGN_OR_RETURN(layerstore::Index index,
                            layerstore::ParseIndex(top_bytes, info.target.digest.str()));
    bool whole = true;
    for (const Descriptor& d : index.manifests) {
      absl::StatusOr<ManifestToPush> m = load_manifest(d);
      if (!m.ok()) {
        whole = false;
        break;
      }
      manifests.push_back(std::move(*m));
    }
    if (!whole) {
      // A pull keeps one platform's manifest: push that one alone.
      manifests.clear();
      layerstore::Descriptor only{"", info.manifest, 0, {}, {}};
      STRATA_ASSIGN_OR_RETURN(layerstore::BlobInfo blob, content_->Info(info.manifest));
      only.size = blob.size;
      only.media_type = blob.media_type;
      if (only.media_type.empty()) only.media_type = layerstore::media_type::kOciManifest;
      STRATA_ASSIGN_OR_RETURN(ManifestToPush m, load_manifest(only));
      manifests.push_back(std::move(m));
      top = manifests.back().desc;
      top_bytes.clear();
    }
  } else {
    STRATA_ASSIGN_OR_RETURN(ManifestToPush m, load_manifest(info.target));
    manifests.push_back(std::move(m));
  }
  if (!ref.digest.empty() && ref.digest != top.digest.str()) {
    return absl::InvalidArgumentError(absl::StrCat(ref.String(), ": image ", name, " is ",
                                                   top.digest.str(), ", not ", ref.digest));
  }

  // Every blob once, largest first (the longest uploads start first).
  std::vector<Descriptor> blobs;
  std::set<Digest> seen;
  for (const ManifestToPush& m : manifests) {
    std::vector<Descriptor> all = m.parsed.layers;
    all.push_back(m.parsed.config);
    for (const Descriptor& d : all) {
      if (seen.insert(d.digest).second) blobs.push_back(d);
    }
  }
  std::stable_sort(blobs.begin(), blobs.end(),
                   [](const Descriptor& a, const Descriptor& b) { return a.size > b.size; });
  int64_t total = 0;
  for (const Descriptor& d : blobs) total += d.size;
  std::atomic<int64_t> done{0};
  auto moved = [&](int64_t n) {
    int64_t now = done += n;
    if (progress && n != 0) progress("push", now, total);
  };
  Counts counts;
  std::atomic<bool> failed{false};
  STRATA_RETURN_IF_ERROR(FirstFailure(RunEach(
      blobs.size(), options_.parallel_uploads,
      [&](size_t k) { return PushBlob(ref, blobs[k], counts, moved, cancel); }, &failed)));
  // The last point to stop: a client gone by now does not move the tag.
  STRATA_RETURN_IF_ERROR(cancel.Check("push"));

  // Manifests last: by digest each, then the top one under the tag.
  const std::string object = ref.digest.empty() ? ref.tag : ref.digest;
  for (const ManifestToPush& m : manifests) {
    bool is_top = top_bytes.empty() && m.desc.digest == top.digest;
    STRATA_RETURN_IF_ERROR(client_->PutManifest(ref, is_top ? object : m.desc.digest.str(),
                                                m.desc.media_type, m.bytes));
  }
  if (!top_bytes.empty()) {
    STRATA_RETURN_IF_ERROR(client_->PutManifest(ref, object, top.media_type, top_bytes));
  }
  PushResult out;
  out.pushed = top;
  out.blobs_present = counts.present;
  out.blobs_mounted = counts.mounted;
  out.blobs_uploaded = counts.uploaded;
  out.bytes_uploaded = counts.bytes;
  layerstore::WorkCounters& c = layerstore::Counters();
  ++c.pushes;
  c.pushed_bytes += counts.bytes;
  c.pushed_blobs_uploaded += counts.uploaded;
  c.pushed_blobs_mounted += counts.mounted;
  c.pushed_blobs_present += counts.present;
  return out;
}

}  // namespace strata::registry
