#include "registry/hosts_config.h"

#include <toml++/toml.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status_util.h"

namespace strata::registry {
namespace {

bool IsLocalhost(absl::string_view host) {
  absl::string_view name = host.substr(0, host.rfind(':'));
  if (absl::StartsWith(host, "[")) name = host.substr(0, host.find(']') + 1);
  return name == "localhost" || name == "127.0.0.1" || name == "[::1]";
}

// The upstream when nothing configures one.
Endpoint DefaultServer(absl::string_view host) {
  Endpoint e;
  e.scheme = "https";
  e.http_fallback = IsLocalhost(host);
  e.host = host == "docker.io" ? "registry-1.docker.io" : std::string(host);
  e.api_root = "/v2";
  return e;
}

// "https://host:5000/path" (a missing scheme is https) into `e`; the API
// root is the path with "/v2" added, unless override_path says it is the root.
absl::Status ParseUrl(absl::string_view url, bool override_path, Endpoint* e) {
  std::string with_scheme =
      absl::StrContains(url, "://") ? std::string(url) : absl::StrCat("https://", url);
  absl::string_view rest = with_scheme;
  if (absl::ConsumePrefix(&rest, "https://")) {
    e->scheme = "https";
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    e->scheme = "http";
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" is not an http(s) URL"));
  }
  size_t slash = rest.find('/');
  e->host = std::string(rest.substr(0, slash));
  if (e->host.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" has no host"));
  std::string path = slash == absl::string_view::npos ? "" : std::string(rest.substr(slash));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") path.clear();
  if (!override_path && !absl::EndsWith(path, "/v2")) path += "/v2";
  e->api_root = path;
  return absl::OkStatus();
}

std::string AbsolutePath(const std::string& p, const std::string& base_dir) {
  return p.empty() || p[0] == '/' ? p : absl::StrCat(base_dir, "/", p);
}

// A string or a list of strings.
absl::StatusOr<std::vector<std::string>> Strings(const toml::node& node, absl::string_view what) {
  std::vector<std::string> out;
  if (std::optional<std::string> s = node.value<std::string>()) {
    out.push_back(*s);
    return out;
  }
  const toml::array* list = node.as_array();
  if (list == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("\"", what, "\" is not a string or a list"));
  }
  for (const toml::node& item : *list) {
    std::optional<std::string> s = item.value<std::string>();
    if (!s) return absl::InvalidArgumentError(absl::StrCat("\"", what, "\" holds a non-string"));
    out.push_back(*s);
  }
  return out;
}

// The settings one endpoint takes from `table` (the file's top level for the
// server, or a [host."..."] table).
absl::Status ApplySettings(const toml::table& table, const std::string& base_dir, Endpoint* e) {
  if (const toml::node* caps = table.get("capabilities")) {
    STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, Strings(*caps, "capabilities"));
    e->capabilities = 0;
    for (const std::string& name : names) {
      if (name == "pull") {
        e->capabilities |= kPull;
      } else if (name == "resolve") {
        e->capabilities |= kResolve;
      } else if (name == "push") {
        e->capabilities |= kPush;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown capability \"", name, "\""));
      }
    }
  }
  if (const toml::node* ca = table.get("ca")) {
    STRATA_ASSIGN_OR_RETURN(std::vector<std::string> files, Strings(*ca, "ca"));
    for (const std::string& f : files) e->ca_files.push_back(AbsolutePath(f, base_dir));
  }
  if (const toml::node* skip = table.get("skip_verify")) {
    std::optional<bool> b = skip->value<bool>();
    if (!b) return absl::InvalidArgumentError("\"skip_verify\" is not a boolean");
    e->skip_verify = *b;
  }
  if (const toml::table* headers = table.get_as<toml::table>("header")) {
    for (auto&& [name, value] : *headers) {
      STRATA_ASSIGN_OR_RETURN(std::vector<std::string> values,
                              Strings(value, std::string(name.str())));
      for (std::string& v : values) e->headers.emplace_back(std::string(name.str()), std::move(v));
    }
  }
  return absl::OkStatus();
}

bool OverridePath(const toml::table& table) { return table["override_path"].value_or(false); }

// The one place toml++'s exceptions become a Status.
absl::StatusOr<toml::table> ParseToml(absl::string_view text) {
  try {
    return toml::parse(std::string_view(text.data(), text.size()));
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.source().begin.line, ": ", std::string(e.description())));
  }
}

}  // namespace

std::string Endpoint::BaseUrl() const { return absl::StrCat(scheme, "://", host, api_root); }

absl::StatusOr<std::vector<Endpoint>> ParseHostsToml(absl::string_view text, absl::string_view host,
                                                     const std::string& base_dir) {
  STRATA_ASSIGN_OR_RETURN(toml::table root, ParseToml(text));
  std::vector<Endpoint> out;
  if (const toml::node* hosts_node = root.get("host")) {
    const toml::table* hosts = hosts_node->as_table();
    if (hosts == nullptr) return absl::InvalidArgumentError("\"host\" is not a table");
    // toml++ keeps tables sorted by key; containerd tries mirrors in file order.
    std::vector<std::pair<int64_t, std::pair<std::string, const toml::table*>>> ordered;
    for (auto&& [url, node] : *hosts) {
      const toml::table* t = node.as_table();
      if (t == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("host \"", std::string(url.str()), "\" is not a table"));
      }
      ordered.push_back(
          {static_cast<int64_t>(node.source().begin.line), {std::string(url.str()), t}});
    }
    std::sort(ordered.begin(), ordered.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [line, entry] : ordered) {
      Endpoint e;
      absl::Status s = ParseUrl(entry.first, OverridePath(*entry.second), &e);
      if (s.ok()) s = ApplySettings(*entry.second, base_dir, &e);
      if (!s.ok()) return Annotate(s, absl::StrCat("host \"", entry.first, "\""));
      out.push_back(std::move(e));
    }
  }
  Endpoint server = DefaultServer(host);
  if (std::optional<std::string> url = root["server"].value<std::string>()) {
    STRATA_RETURN_IF_ERROR(Annotate(ParseUrl(*url, OverridePath(root), &server), "server"));
  }
  STRATA_RETURN_IF_ERROR(ApplySettings(root, base_dir, &server));
  out.push_back(std::move(server));
  return out;
}

absl::StatusOr<std::vector<Endpoint>> ResolveEndpoints(const std::string& hosts_dir,
                                                       absl::string_view host) {
  if (!hosts_dir.empty()) {
    for (const std::string& dir :
         {absl::StrCat(hosts_dir, "/", host), absl::StrCat(hosts_dir, "/_default")}) {
      std::string file = dir + "/hosts.toml";
      if (!PathExists(file)) continue;
      STRATA_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
      absl::StatusOr<std::vector<Endpoint>> endpoints = ParseHostsToml(text, host, dir);
      if (!endpoints.ok()) return Annotate(endpoints.status(), file);
      return endpoints;
    }
  }
  return std::vector<Endpoint>{DefaultServer(host)};
}

}  // namespace strata::registry
