#include "registry/credentials.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status_util.h"

namespace strata::registry {
namespace {

// "https://index.docker.io/v1/" -> "docker.io"; "http://host:5000/x" -> "host:5000".
std::string HostOfKey(absl::string_view key) {
  absl::ConsumePrefix(&key, "https://") || absl::ConsumePrefix(&key, "http://");
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return std::string(key);
}

absl::StatusOr<Credential> FromEntry(const std::string& key, const nlohmann::json& entry) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("registry auth \"", key, "\": ", why));
  };
  if (!entry.is_object()) return bad("not an object");
  auto text = [&entry](const char* name) -> std::string {
    auto it = entry.find(name);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : "";
  };
  Credential c;
  c.username = text("username");
  c.password = text("password");
  c.identity_token = text("identitytoken");
  if (std::string auth = text("auth"); !auth.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(auth, &decoded)) return bad("\"auth\" is not base64");
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return bad("\"auth\" is not user:password");
    c.username = decoded.substr(0, colon);
    c.password = decoded.substr(colon + 1);
  }
  return c;
}

}  // namespace

absl::StatusOr<Credentials> Credentials::Parse(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("registry auth: not a JSON object");
  }
  Credentials out;
  auto auths = doc.find("auths");
  if (auths == doc.end()) return out;
  if (!auths->is_object())
    return absl::InvalidArgumentError("registry auth: \"auths\" is not an object");
  for (const auto& [key, entry] : auths->items()) {
    STRATA_ASSIGN_OR_RETURN(Credential c, FromEntry(key, entry));
    out.by_host_[HostOfKey(key)] = std::move(c);
  }
  return out;
}

absl::StatusOr<Credentials> Credentials::Load(const std::string& path) {
  if (!PathExists(path)) return Credentials();
  STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::StatusOr<Credentials> parsed = Parse(text);
  if (!parsed.ok()) return Annotate(parsed.status(), path);
  return parsed;
}

std::optional<Credential> Credentials::For(absl::string_view host) const {
  auto it = by_host_.find(HostOfKey(host));
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

}  // namespace strata::registry
