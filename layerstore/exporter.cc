#include "layerstore/exporter.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/status_util.h"
#include "layerstore/archive_sink.h"

namespace strata::layerstore {
namespace {

using json = nlohmann::json;

struct WriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

class ArchiveOut {
 public:
  explicit ArchiveOut(ByteSink* out) : a_(archive_write_new()), sink_(out) {
    archive_write_set_format_pax_restricted(a_.get());
  }
  absl::Status Open() { return sink_.Open(a_.get()); }

  absl::Status Header(const std::string& path, int64_t size) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);  // fixed: the same image gives the same archive
    int rc = archive_write_header(a_.get(), e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return Error("write " + path);
    return absl::OkStatus();
  }

  absl::Status Bytes(const std::string& path, const std::string& data) {
    STRATA_RETURN_IF_ERROR(Header(path, static_cast<int64_t>(data.size())));
    if (archive_write_data(a_.get(), data.data(), data.size()) !=
        static_cast<la_ssize_t>(data.size())) {
      return Error("write " + path);
    }
    return absl::OkStatus();
  }

  absl::Status Blob(const ContentStore& content, const Descriptor& d) {
    STRATA_ASSIGN_OR_RETURN(UniqueFd fd, content.OpenBlob(d.digest));
    std::string path = "blobs/sha256/" + d.digest.hex();
    STRATA_RETURN_IF_ERROR(Header(path, d.size));
    std::vector<char> buf(1 << 20);
    for (int64_t left = d.size; left > 0;) {
      ssize_t n =
          ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
      if (n <= 0) return ErrnoToStatus(n < 0 ? errno : EIO, "read blob " + d.digest.str());
      if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) != n)
        return Error("write " + path);
      left -= n;
    }
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return Error("finish archive");
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const std::string& what) { return sink_.Failure(a_.get(), what); }
  std::unique_ptr<struct archive, WriteDeleter> a_;
  ArchiveSink sink_;
};

// The name Docker shows: "docker.io/library/busybox:1" -> "busybox:1".
std::string DockerTag(const std::string& name) {
  if (absl::StartsWith(name, "docker.io/library/")) return name.substr(18);
  if (absl::StartsWith(name, "docker.io/")) return name.substr(10);
  return name;
}

}  // namespace

absl::StatusOr<ExportFormat> ParseExportFormat(const std::string& name) {
  if (name.empty() || name == "oci") return ExportFormat::kOci;
  if (name == "docker") return ExportFormat::kDocker;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown export format \"", name, "\" (oci or docker)"));
}

absl::Status ExportImage(const ImageStore& images, const ContentStore& content,
                         const std::string& name, ExportFormat format, ByteSink* out) {
  STRATA_ASSIGN_OR_RETURN(ResolvedImage img, images.Resolve(name));
  Descriptor manifest;
  manifest.digest = img.info.manifest;
  STRATA_ASSIGN_OR_RETURN(BlobInfo minfo, content.Info(img.info.manifest));
  manifest.size = minfo.size;
  manifest.media_type =
      img.manifest.media_type.empty() ? media_type::kOciManifest : img.manifest.media_type;
  std::string tag = name.substr(name.find_last_of(":/") + 1);
  json index = {{"schemaVersion", 2},
                {"mediaType", media_type::kOciIndex},
                {"manifests",
                 {{{"mediaType", manifest.media_type},
                   {"digest", manifest.digest.str()},
                   {"size", manifest.size},
                   {"annotations",
                    {{"io.containerd.image.name", name},
                     {"org.opencontainers.image.ref.name",
                      name.find(':') != std::string::npos ? tag : "latest"}}}}}}};
  ArchiveOut ar(out);
  STRATA_RETURN_IF_ERROR(ar.Open());
  // Blobs first (as OCI archives from other tools have them), then the index.
  STRATA_RETURN_IF_ERROR(ar.Blob(content, img.manifest.config));
  for (const Descriptor& l : img.manifest.layers) STRATA_RETURN_IF_ERROR(ar.Blob(content, l));
  STRATA_RETURN_IF_ERROR(ar.Blob(content, manifest));
  STRATA_RETURN_IF_ERROR(ar.Bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  STRATA_RETURN_IF_ERROR(ar.Bytes("index.json", index.dump()));
  if (format == ExportFormat::kDocker) {
    json layers = json::array();
    for (const Descriptor& l : img.manifest.layers)
      layers.push_back("blobs/sha256/" + l.digest.hex());
    json m = json::array({{{"Config", "blobs/sha256/" + img.manifest.config.digest.hex()},
                           {"RepoTags", json::array({DockerTag(name)})},
                           {"Layers", layers}}});
    STRATA_RETURN_IF_ERROR(ar.Bytes("manifest.json", m.dump()));
  }
  STRATA_RETURN_IF_ERROR(ar.Close());
  return out->Close();
}

}  // namespace strata::layerstore
