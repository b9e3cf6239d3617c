#include "layerstore/oci.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_util.h"

namespace strata::layerstore {
namespace {

using json = nlohmann::json;

absl::Status Bad(const std::string& what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

// No manifest, index or config nests deeper than a handful of levels; a
// document that does is hostile, and is refused before a tree is built (4 MB
// of "[" would cost hundreds of MiB and seconds as a tree).
constexpr int kMaxJsonDepth = 64;

bool NestedTooDeep(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

absl::StatusOr<json> ParseJson(const std::string& text, const std::string& what) {
  if (NestedTooDeep(text)) {
    return Bad(what, absl::StrCat("JSON nested deeper than ", kMaxJsonDepth, " levels"));
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(what, "malformed JSON");
  if (!j.is_object()) return Bad(what, "JSON is not an object");
  return j;
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<Descriptor> ParseDescriptor(const json& j, const std::string& what) {
  if (!j.is_object()) return Bad(what, "descriptor is not an object");
  Descriptor d;
  d.media_type = StringField(j, "mediaType");
  absl::StatusOr<Digest> digest = Digest::Parse(StringField(j, "digest"));
  if (!digest.ok()) return Bad(what, digest.status().message());
  d.digest = *digest;
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return Bad(what, "descriptor has no valid size");
  }
  d.size = size->get<int64_t>();
  auto ann = j.find("annotations");
  if (ann != j.end() && ann->is_object()) {
    for (auto it = ann->begin(); it != ann->end(); ++it) {
      if (it.value().is_string()) d.annotations[it.key()] = it.value().get<std::string>();
    }
  }
  auto plat = j.find("platform");
  if (plat != j.end() && plat->is_object()) {
    d.platform = Platform{StringField(*plat, "os"), StringField(*plat, "architecture"),
                          StringField(*plat, "variant")};
  }
  return d;
}

}  // namespace

bool IsIndexType(const std::string& mt) {
  return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool IsManifestType(const std::string& mt) {
  return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

bool IsConfigType(const std::string& mt) {
  return mt == media_type::kOciConfig || mt == media_type::kDockerConfig;
}

absl::StatusOr<Compression> LayerCompression(const std::string& mt) {
  if (mt == media_type::kOciLayer || mt == media_type::kDockerLayer ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return Compression::kNone;
  }
  if (mt == media_type::kOciLayerGzip || mt == media_type::kDockerLayerGzip ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") {
    return Compression::kGzip;
  }
  if (mt == media_type::kOciLayerZstd ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return Compression::kZstd;
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported layer media type \"", mt, "\""));
}

absl::StatusOr<Index> ParseIndex(const std::string& text, const std::string& what) {
  STRATA_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
  auto manifests = j.find("manifests");
  if (manifests == j.end() || !manifests->is_array()) return Bad(what, "no \"manifests\" array");
  Index index;
  for (const json& m : *manifests) {
    STRATA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(m, what));
    index.manifests.push_back(std::move(d));
  }
  return index;
}

absl::StatusOr<Manifest> ParseManifest(const std::string& text, const std::string& what) {
  STRATA_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
  Manifest m;
  m.media_type = StringField(j, "mediaType");
  auto config = j.find("config");
  if (config == j.end()) return Bad(what, "no \"config\"");
  STRATA_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, what));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) return Bad(what, "no \"layers\" array");
  for (const json& l : *layers) {
    STRATA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(l, what));
    m.layers.push_back(std::move(d));
  }
  return m;
}

absl::StatusOr<ImageConfig> ParseConfig(const std::string& text, const std::string& what) {
  STRATA_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
  ImageConfig c;
  c.platform =
      Platform{StringField(j, "os"), StringField(j, "architecture"), StringField(j, "variant")};
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object()) return Bad(what, "no \"rootfs\"");
  auto diff_ids = rootfs->find("diff_ids");
  if (diff_ids == rootfs->end() || !diff_ids->is_array())
    return Bad(what, "no \"rootfs.diff_ids\"");
  for (const json& d : *diff_ids) {
    absl::StatusOr<Digest> digest = Digest::Parse(d.is_string() ? d.get<std::string>() : "");
    if (!digest.ok()) return Bad(what, digest.status().message());
    c.diff_ids.push_back(*digest);
  }
  std::string created = StringField(j, "created");
  absl::Time t;
  std::string err;
  if (!created.empty() && absl::ParseTime(absl::RFC3339_full, created, &t, &err)) c.created = t;
  return c;
}

absl::StatusOr<std::vector<DockerArchiveEntry>> ParseDockerArchiveManifest(
    const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Bad("manifest.json", "malformed JSON (expected an array)");
  }
  std::vector<DockerArchiveEntry> out;
  for (const json& e : j) {
    if (!e.is_object()) return Bad("manifest.json", "entry is not an object");
    DockerArchiveEntry entry;
    entry.config_path = StringField(e, "Config");
    if (entry.config_path.empty()) return Bad("manifest.json", "entry has no \"Config\"");
    for (const char* key : {"RepoTags", "Layers"}) {
      auto it = e.find(key);
      if (it == e.end() || it->is_null()) continue;
      if (!it->is_array())
        return Bad("manifest.json", absl::StrCat("\"", key, "\" is not an array"));
      for (const json& s : *it) {
        if (!s.is_string())
          return Bad("manifest.json", absl::StrCat("\"", key, "\" holds a non-string"));
        (std::string(key) == "Layers" ? entry.layer_paths : entry.repo_tags)
            .push_back(s.get<std::string>());
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string SerializeManifest(const Manifest& m) {
  auto desc = [](const Descriptor& d) {
    return json{{"mediaType", d.media_type}, {"size", d.size}, {"digest", d.digest.str()}};
  };
  json layers = json::array();
  for (const Descriptor& l : m.layers) layers.push_back(desc(l));
  json j = {{"schemaVersion", 2},
            {"mediaType", m.media_type},
            {"config", desc(m.config)},
            {"layers", layers}};
  return j.dump();
}

Platform HostPlatform() {
  struct utsname u;
  ::uname(&u);
  std::string machine = u.machine;
  if (machine == "x86_64") return {"linux", "amd64", ""};
  if (machine == "aarch64") return {"linux", "arm64", "v8"};
  if (absl::StartsWith(machine, "armv7")) return {"linux", "arm", "v7"};
  return {"linux", machine, ""};
}

bool PlatformMatches(const Platform& want, const std::optional<Platform>& have) {
  if (!have) return false;
  if (have->os != want.os || have->architecture != want.architecture) return false;
  return have->variant.empty() || want.variant.empty() || have->variant == want.variant;
}

std::string NormalizeImageName(const std::string& name) {
  std::string n = name;
  size_t slash = n.find('/');
  std::string first = slash == std::string::npos ? "" : n.substr(0, slash);
  bool has_registry = !first.empty() && (absl::StrContains(first, ".") ||
                                         absl::StrContains(first, ":") || first == "localhost");
  if (!has_registry)
    n = absl::StrCat("docker.io/", slash == std::string::npos ? "library/" : "", n);
  size_t last_slash = n.rfind('/');
  bool tagged = n.find(':', last_slash) != std::string::npos || absl::StrContains(n, "@");
  if (!tagged) n += ":latest";
  return n;
}

}  // namespace strata::layerstore
