// OCI and Docker image JSON: media types, descriptors, indexes, manifests and
// configs. Parsing never throws: malformed JSON or a missing field is
// InvalidArgument naming what was being parsed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "layerstore/byte_source.h"
#include "layerstore/digest.h"

namespace strata::layerstore {

namespace media_type {
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
}  // namespace media_type

bool IsIndexType(const std::string& mt);
bool IsManifestType(const std::string& mt);
bool IsConfigType(const std::string& mt);
// The compression of a layer media type; InvalidArgument for anything that is
// not a layer type strata accepts.
absl::StatusOr<Compression> LayerCompression(const std::string& mt);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Index {
  std::vector<Descriptor> manifests;
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageConfig {
  std::vector<Digest> diff_ids;
  Platform platform;
  // "created" (RFC 3339), when the image was built; InfinitePast if absent.
  absl::Time created = absl::InfinitePast();
};

// `what` names the blob in messages ("index.json", "manifest sha256:...").
absl::StatusOr<Index> ParseIndex(const std::string& json, const std::string& what);
absl::StatusOr<Manifest> ParseManifest(const std::string& json, const std::string& what);
absl::StatusOr<ImageConfig> ParseConfig(const std::string& json, const std::string& what);

// One entry of a `docker save` manifest.json.
struct DockerArchiveEntry {
  std::string config_path;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layer_paths;
};
absl::StatusOr<std::vector<DockerArchiveEntry>> ParseDockerArchiveManifest(const std::string& json);

// Serializes a manifest (used to give a `docker save` image a Docker v2 manifest).
std::string SerializeManifest(const Manifest& m);

// The platform strata runs on, in OCI terms (linux/amd64, linux/arm64, ...).
Platform HostPlatform();

// Whether `have` (an index entry's or a config's platform) serves `want`:
// same os and architecture, and the same variant when both name one.
bool PlatformMatches(const Platform& want, const std::optional<Platform>& have);

// "busybox" -> "docker.io/library/busybox:latest", as Docker and containerd
// normalize names; a name with a registry or a digest keeps it.
std::string NormalizeImageName(const std::string& name);

}  // namespace strata::layerstore
