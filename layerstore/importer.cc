#include "layerstore/importer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "common/status_util.h"
#include "common/unique_fd.h"
#include "layerstore/layer_pipeline.h"
#include "layerstore/libarchive_source.h"
#include "layerstore/reference.h"
#include "layerstore/work_counters.h"

namespace strata::layerstore {
namespace {

// Archive members read into memory rather than stored as blobs.
bool IsMetadataMember(const std::string& path) {
  return path == "index.json" || path == "manifest.json" || path == "oci-layout" ||
         path == "repositories";
}
// `docker save`'s legacy per-layer files (<id>/json, <id>/VERSION): no image
// refers to them, so they are never stored.
bool IsLegacyDockerMember(const std::string& path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  return parts.size() == 2 && (parts[1] == "json" || parts[1] == "VERSION");
}
constexpr int64_t kMaxMetadataMember = 16 << 20;
constexpr int kMaxIndexDepth = 8;
constexpr char kContainerdNameAnnotation[] = "io.containerd.image.name";
constexpr char kOciRefNameAnnotation[] = "org.opencontainers.image.ref.name";
// Enough of a blob to tell a gzip, zstd or tar layer from anything else.
constexpr size_t kSniffBytes = 512;

std::string NormalizeMemberPath(const std::string& raw) {
  std::vector<std::string> parts;
  for (absl::string_view p : absl::StrSplit(raw, '/')) {
    if (p.empty() || p == ".") continue;
    parts.emplace_back(p);
  }
  return absl::StrJoin(parts, "/");
}

// The media type a `docker save` layer gets, from its compression.
std::string DockerLayerType(const std::string& sniffed) {
  if (sniffed == media_type::kOciLayerGzip) return media_type::kDockerLayerGzip;
  if (sniffed == media_type::kOciLayerZstd) return media_type::kOciLayerZstd;
  return media_type::kDockerLayer;
}

}  // namespace

struct Importer::Members {
  std::map<std::string, std::string> metadata;  // path -> contents
  std::map<std::string, Descriptor> blobs;      // path -> stored blob (media type unknown)
};

struct Importer::Candidate {
  std::vector<std::string> names;
  Descriptor target;    // what the names point at
  Descriptor manifest;  // the manifest to unpack
};

absl::Status Importer::ReadMembers(ByteSource* archive, const ImportOptions& options,
                                   const ProgressFn& progress, UnpackSession* session,
                                   Members* out) {
  ArchiveReadContext ctx;
  ctx.src = archive;
  ctx.max = options.max_archive_bytes;
  STRATA_ASSIGN_OR_RETURN(ArchiveReader a, OpenTarReader(&ctx));
  std::vector<char> buf(1 << 20);
  while (true) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return ArchiveError(a.get(), ctx, "archive is not a valid tar");
    if (progress) progress("read", ctx.total, -1);
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
    std::string path = NormalizeMemberPath(archive_entry_pathname(e));
    if (IsLegacyDockerMember(path)) continue;
    int64_t size = archive_entry_size(e);
    if (IsMetadataMember(path)) {
      if (size > kMaxMetadataMember) {
        return absl::InvalidArgumentError(absl::StrCat("archive member ", path, " is too large"));
      }
      std::string data(static_cast<size_t>(size), '\0');
      if (archive_read_data(a.get(), data.data(), data.size()) != size) {
        return ArchiveError(a.get(), ctx, absl::StrCat("read archive member ", path));
      }
      out->metadata[path] = std::move(data);
      continue;
    }
    // Members named by digest must match it; others are stored under theirs.
    Digest expected;
    if (absl::StartsWith(path, "blobs/sha256/")) {
      absl::StatusOr<Digest> d = Digest::Parse("sha256:" + path.substr(13));
      if (!d.ok()) return Annotate(d.status(), absl::StrCat("archive member ", path));
      expected = *d;
    }
    STRATA_ASSIGN_OR_RETURN(
        std::unique_ptr<Writer> w,
        content_->OpenWriter(ContentStore::InternalRef("import"), options.lease));
    STRATA_RETURN_IF_ERROR(w->Truncate(0));
    std::string head;
    while (true) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return ArchiveError(a.get(), ctx, absl::StrCat("read archive member ", path));
      if (n == 0) break;
      if (head.size() < kSniffBytes) {
        head.append(buf.data(), std::min(static_cast<size_t>(n), kSniffBytes - head.size()));
      }
      STRATA_RETURN_IF_ERROR(w->Write(buf.data(), static_cast<size_t>(n)));
    }
    absl::StatusOr<BlobInfo> info = w->Commit(size, expected);
    if (!info.ok() && !absl::IsAlreadyExists(info.status())) {
      return Annotate(info.status(), absl::StrCat("archive member ", path));
    }
    Descriptor d;
    d.digest = w->digest();
    d.size = size;
    d.media_type = SniffLayerMediaType(head);
    out->blobs[path] = d;
    // A new blob that looks like a layer starts unpacking now, while the rest
    // of the archive arrives; a blob stored before is likely unpacked already.
    if (info.ok() && !d.media_type.empty()) session->Prefetch(d);
  }
  if (progress) progress("read", ctx.total, ctx.total);
  return absl::OkStatus();
}

// Follows indexes down to the manifest for this host.
absl::StatusOr<Descriptor> Importer::ChooseManifest(const Descriptor& d, int depth) {
  if (IsManifestType(d.media_type)) return d;
  if (!IsIndexType(d.media_type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "descriptor ", d.digest.str(), ": unsupported media type \"", d.media_type, "\""));
  }
  if (depth > kMaxIndexDepth) return absl::InvalidArgumentError("indexes nested too deeply");
  STRATA_ASSIGN_OR_RETURN(std::string text, images_->ReadJsonBlob(d));
  STRATA_ASSIGN_OR_RETURN(Index index, ParseIndex(text, "index " + d.digest.str()));
  Platform host = HostPlatform();
  for (const Descriptor& m : index.manifests) {
    if (IsIndexType(m.media_type) ||
        (IsManifestType(m.media_type) && (!m.platform || PlatformMatches(host, m.platform)))) {
      absl::StatusOr<Descriptor> chosen = ChooseManifest(m, depth + 1);
      if (chosen.ok() || !absl::IsNotFound(chosen.status())) return chosen;
    }
  }
  return absl::NotFoundError(absl::StrCat("index ", d.digest.str(), " has no manifest for ",
                                          host.os, "/", host.architecture));
}

absl::StatusOr<std::vector<Importer::Candidate>> Importer::FromOciLayout(const Members& m) {
  STRATA_ASSIGN_OR_RETURN(Index index, ParseIndex(m.metadata.at("index.json"), "index.json"));
  std::vector<Candidate> out;
  Platform host = HostPlatform();
  for (const Descriptor& d : index.manifests) {
    if (IsManifestType(d.media_type) && d.platform && !PlatformMatches(host, d.platform)) {
      continue;  // another platform's image: its blobs stay as content
    }
    if (!content_->Has(d.digest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("index.json names blob ", d.digest.str(), ", which the archive lacks"));
    }
    Candidate c;
    c.target = d;
    STRATA_ASSIGN_OR_RETURN(c.manifest, ChooseManifest(d, 0));
    auto name = d.annotations.find(kContainerdNameAnnotation);
    auto ref = d.annotations.find(kOciRefNameAnnotation);
    if (name != d.annotations.end()) {
      c.names.push_back(name->second);
    } else if (ref != d.annotations.end() &&
               (absl::StrContains(ref->second, "/") || absl::StrContains(ref->second, ":"))) {
      c.names.push_back(NormalizeImageName(ref->second));
    }
    out.push_back(std::move(c));
  }
  if (out.empty() && !index.manifests.empty()) {
    return absl::NotFoundError(
        absl::StrCat("index.json has no image for ", host.os, "/", host.architecture));
  }
  return out;
}

absl::StatusOr<std::vector<Importer::Candidate>> Importer::FromDockerArchive(
    const Members& m, const std::string& lease) {
  STRATA_ASSIGN_OR_RETURN(std::vector<DockerArchiveEntry> entries,
                          ParseDockerArchiveManifest(m.metadata.at("manifest.json")));
  auto blob = [&](const std::string& path) -> absl::StatusOr<Descriptor> {
    auto it = m.blobs.find(NormalizeMemberPath(path));
    if (it == m.blobs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("manifest.json names ", path, ", which the archive lacks"));
    }
    return it->second;
  };
  std::vector<Candidate> out;
  for (const DockerArchiveEntry& e : entries) {
    Manifest manifest;
    manifest.media_type = media_type::kDockerManifest;
    STRATA_ASSIGN_OR_RETURN(manifest.config, blob(e.config_path));
    manifest.config.media_type = media_type::kDockerConfig;
    for (const std::string& path : e.layer_paths) {
      STRATA_ASSIGN_OR_RETURN(Descriptor layer, blob(path));
      if (layer.media_type.empty()) {  // stored before this import: sniff it now
        absl::StatusOr<std::string> head = content_->ReadAt(layer.digest, 0, kSniffBytes);
        if (!head.ok()) return head.status();
        layer.media_type = SniffLayerMediaType(*head);
      }
      layer.media_type = DockerLayerType(layer.media_type);
      manifest.layers.push_back(layer);
    }
    Candidate c;
    std::string text = SerializeManifest(manifest);
    STRATA_ASSIGN_OR_RETURN(Digest stored, content_->Put(text, media_type::kDockerManifest, lease));
    c.manifest.media_type = media_type::kDockerManifest;
    c.manifest.digest = stored;
    c.manifest.size = static_cast<int64_t>(text.size());
    c.target = c.manifest;
    for (const std::string& tag : e.repo_tags) c.names.push_back(NormalizeImageName(tag));
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<ImportedImage>> Importer::ImportPath(const std::string& path,
                                                                const ImportOptions& options,
                                                                const ProgressFn& progress) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return ErrnoToStatus(errno, absl::StrCat("import from ", path));
  }
  bool allowed = false;
  for (const std::string& dir : options.allowed_import_dirs) {
    char dir_resolved[PATH_MAX];
    if (::realpath(dir.c_str(), dir_resolved) == nullptr) continue;
    std::string prefix = std::string(dir_resolved) + "/";
    allowed |= absl::StartsWith(resolved, prefix);
  }
  if (!allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "import from ", path, ": not inside a directory the daemon allows imports from"));
  }
  UniqueFd fd(::open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  FdSource src(fd.get());
  return Import(&src, options, progress);
}

absl::StatusOr<std::vector<ImportedImage>> Importer::Import(ByteSource* archive,
                                                            const ImportOptions& options,
                                                            const ProgressFn& progress) {
  absl::Time start = absl::Now();
  UnpackSession session(unpacker_);
  Members members;
  CountingSource counted(archive);
  CancellableSource guarded(&counted, &options.cancel, "import");
  STRATA_RETURN_IF_ERROR(ReadMembers(&guarded, options, progress, &session, &members));
  absl::Time read_done = absl::Now();
  std::vector<Candidate> candidates;
  if (members.metadata.count("index.json")) {
    STRATA_ASSIGN_OR_RETURN(candidates, FromOciLayout(members));
  } else if (members.metadata.count("manifest.json")) {
    STRATA_ASSIGN_OR_RETURN(candidates, FromDockerArchive(members, options.lease));
  } else {
    return absl::InvalidArgumentError(
        "archive has neither index.json (OCI layout) nor manifest.json (docker save)");
  }
  if (candidates.empty()) return absl::InvalidArgumentError("archive holds no image");
  if (!options.name.empty()) {
    if (candidates.size() > 1) {
      return absl::InvalidArgumentError("a name was given but the archive holds several images");
    }
    candidates[0].names = {options.name};
  }
  for (const Candidate& c : candidates) {
    if (c.names.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", c.target.digest.str(), " has no name in the archive; give one"));
    }
    for (const std::string& name : c.names) STRATA_RETURN_IF_ERROR(ValidateImageName(name));
  }
  // Unpack everything before recording any name: a failure records nothing.
  std::vector<ImportedImage> done;
  for (const Candidate& c : candidates) {
    STRATA_RETURN_IF_ERROR(options.cancel.Check("import"));
    STRATA_ASSIGN_OR_RETURN(ImportedImage img, UnpackImage(content_, *images_, &session, c.target,
                                                           c.manifest, options.lease, progress));
    done.push_back(std::move(img));
  }
  log::Info("import unpacked",
            {{"images", std::to_string(candidates.size())},
             {"read_seconds", absl::StrCat(absl::ToDoubleSeconds(read_done - start))},
             {"unpack_seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - read_done))}});
  // The last point to stop: a client gone by now gets no name recorded.
  STRATA_RETURN_IF_ERROR(options.cancel.Check("import"));
  std::vector<ImportedImage> out;
  for (size_t i = 0; i < candidates.size(); ++i) {
    for (const std::string& name : candidates[i].names) {
      ImportedImage img = done[i];
      img.info.name = name;
      STRATA_ASSIGN_OR_RETURN(img.info, images_->Put(img.info));
      out.push_back(std::move(img));
    }
  }
  ++Counters().imports;
  Counters().imported_bytes += counted.bytes();
  for (const ImportedImage& img : done) Counters().imported_layers += img.chain_ids.size();
  return out;
}

}  // namespace strata::layerstore
