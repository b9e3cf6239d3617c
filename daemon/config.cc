#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/fs.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/status_util.h"

namespace strata::daemon {
namespace {

using Kind = Setting::Kind;

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(why); }

template <std::string DaemonOptions::*F>
absl::Status SetString(const SettingValue& v, DaemonOptions* o) {
  o->*F = std::get<std::string>(v);
  return absl::OkStatus();
}
template <std::string DaemonOptions::*F>
SettingValue GetString(const DaemonOptions& o) {
  return o.*F;
}

// An integer field that must lie in [Min, Max].
template <auto F, int64_t Min, int64_t Max>
absl::Status SetInteger(const SettingValue& v, DaemonOptions* o) {
  int64_t n = std::get<int64_t>(v);
  if (n < Min || n > Max) {
    return Bad(absl::StrCat(n, " is out of range (", Min, " to ", Max, ")"));
  }
  o->*F = static_cast<std::remove_reference_t<decltype(o->*F)>>(n);
  return absl::OkStatus();
}
template <auto F>
SettingValue GetInteger(const DaemonOptions& o) {
  return static_cast<int64_t>(o.*F);
}

template <bool DaemonOptions::*F>
absl::Status SetBoolean(const SettingValue& v, DaemonOptions* o) {
  o->*F = std::get<bool>(v);
  return absl::OkStatus();
}
template <bool DaemonOptions::*F>
SettingValue GetBoolean(const DaemonOptions& o) {
  return o.*F;
}

// A duration written as Go and containerd write them ("90s", "30m", "6h"); "0" is zero.
template <absl::Duration DaemonOptions::*F>
absl::Status SetDuration(const SettingValue& v, DaemonOptions* o) {
  const std::string& text = std::get<std::string>(v);
  absl::Duration d;
  if (text == "0") {
    d = absl::ZeroDuration();
  } else if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() ||
             d == absl::InfiniteDuration()) {
    return Bad(absl::StrCat("\"", text, "\" is not a duration (like 90s, 30m or 6h)"));
  }
  o->*F = d;
  return absl::OkStatus();
}
template <absl::Duration DaemonOptions::*F>
SettingValue GetDuration(const DaemonOptions& o) {
  return o.*F == absl::ZeroDuration() ? std::string("0") : absl::FormatDuration(o.*F);
}

// One of `choices`, which the error lists.
absl::Status CheckChoice(const std::string& v, const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return absl::OkStatus();
  return Bad(absl::StrCat("\"", v, "\" is not one of ", absl::StrJoin(choices, ", ")));
}

absl::Status SetLogLevel(const SettingValue& v, DaemonOptions* o) {
  const std::string& level = std::get<std::string>(v);
  if (!log::ParseLevel(level)) {
    return Bad(absl::StrCat("\"", level, "\" is not one of debug, info, warn, error"));
  }
  o->log_level = level;
  return absl::OkStatus();
}

absl::Status SetSizedBackend(const SettingValue& v, DaemonOptions* o) {
  const std::string& backend = std::get<std::string>(v);
  STRATA_RETURN_IF_ERROR(CheckChoice(backend, {"auto", "btrfs-qgroup", "ext4-loop", "none"}));
  o->sized_backend = backend;
  return absl::OkStatus();
}

absl::Status SetSocketMode(const SettingValue& v, DaemonOptions* o) {
  const std::string& text = std::get<std::string>(v);
  bool octal =
      !text.empty() && text.size() <= 4 && text.find_first_not_of("01234567") == std::string::npos;
  if (!octal) return Bad(absl::StrCat("\"", text, "\" is not an octal mode like \"0660\""));
  o->socket_mode = static_cast<mode_t>(std::stoul(text, nullptr, 8));
  return absl::OkStatus();
}

SettingValue GetSocketMode(const DaemonOptions& o) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(o.socket_mode));
  return std::string(text);
}

// Addresses are checked when bound (a port in use is a start-up error then);
// here only their shape.
template <std::string DaemonOptions::*F>
absl::Status SetAddress(const SettingValue& v, DaemonOptions* o) {
  const std::string& a = std::get<std::string>(v);
  if (!a.empty()) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(a);
    if (!parsed.ok()) return Bad(std::string(parsed.status().message()));
  }
  o->*F = a;
  return absl::OkStatus();
}

absl::Status SetImportDirs(const SettingValue& v, DaemonOptions* o) {
  o->import_dirs = std::get<std::vector<std::string>>(v);
  return absl::OkStatus();
}
SettingValue GetImportDirs(const DaemonOptions& o) { return o.import_dirs; }

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kInteger:
      return "an integer";
    case Kind::kBoolean:
      return "true or false";
    case Kind::kStringList:
      return "a list of strings";
  }
  return "?";
}

// The node's value as `kind` wants it; InvalidArgument naming the expected kind.
absl::StatusOr<SettingValue> FromToml(const toml::node& node, Kind kind) {
  switch (kind) {
    case Kind::kString:
      if (auto s = node.value<std::string>(); s && node.is_string()) return SettingValue(*s);
      break;
    case Kind::kInteger:
      if (node.is_integer()) return SettingValue(*node.value<int64_t>());
      break;
    case Kind::kBoolean:
      if (node.is_boolean()) return SettingValue(*node.value<bool>());
      break;
    case Kind::kStringList:
      if (const toml::array* list = node.as_array()) {
        std::vector<std::string> items;
        for (const toml::node& item : *list) {
          if (!item.is_string()) return Bad("expects a list of strings");
          items.push_back(*item.value<std::string>());
        }
        return SettingValue(std::move(items));
      }
      break;
  }
  return Bad(absl::StrCat("expects ", KindName(kind)));
}

bool IsTableName(absl::string_view prefix) {
  for (const Setting& s : Settings()) {
    if (absl::StartsWith(s.key, absl::StrCat(prefix, "."))) return true;
  }
  return false;
}

absl::Status ApplyTable(const toml::table& table, const std::string& prefix,
                        const std::string& name, DaemonOptions* options) {
  for (const auto& [k, node] : table) {
    std::string key =
        prefix.empty() ? std::string(k.str()) : absl::StrCat(prefix, ".", std::string(k.str()));
    std::string where = absl::StrCat(name, ":", static_cast<int>(node.source().begin.line), ": ");
    const Setting* setting = FindSetting(key);
    if (setting == nullptr && node.is_table() && IsTableName(key)) {
      STRATA_RETURN_IF_ERROR(ApplyTable(*node.as_table(), key, name, options));
      continue;
    }
    if (setting == nullptr) return Bad(absl::StrCat(where, "unknown key \"", key, "\""));
    absl::StatusOr<SettingValue> value = FromToml(node, setting->kind);
    absl::Status s = value.ok() ? setting->set(*value, options) : value.status();
    if (!s.ok()) return Bad(absl::StrCat(where, key, ": ", s.message()));
  }
  return absl::OkStatus();
}

// The dotted key a line that does not parse was setting ("gc.interval"), as
// far as its text shows: the last [table] header above it and the words
// before its '='; empty when the line sets nothing.
std::string KeyOnLine(const std::string& text, int line) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (line < 1 || line > static_cast<int>(lines.size())) return "";
  std::string table;
  for (int i = 0; i < line - 1; ++i) {
    absl::string_view l = absl::StripAsciiWhitespace(lines[i]);
    if (absl::StartsWith(l, "[") && absl::EndsWith(l, "]")) {
      table = std::string(absl::StripAsciiWhitespace(l.substr(1, l.size() - 2)));
    }
  }
  absl::string_view l = lines[line - 1];
  size_t eq = l.find('=');
  if (eq == absl::string_view::npos) return "";
  std::string key(absl::StripAsciiWhitespace(l.substr(0, eq)));
  if (key.empty()) return "";
  return table.empty() ? key : absl::StrCat(table, ".", key);
}

void InsertToml(toml::table* table, absl::string_view key, const SettingValue& v) {
  size_t dot = key.find('.');
  if (dot != absl::string_view::npos) {
    std::string sub(key.substr(0, dot));
    if (!table->contains(sub)) table->insert(sub, toml::table{});
    InsertToml(table->get_as<toml::table>(sub), key.substr(dot + 1), v);
    return;
  }
  std::string k(key);
  if (const auto* s = std::get_if<std::string>(&v)) table->insert(k, *s);
  if (const auto* n = std::get_if<int64_t>(&v)) table->insert(k, *n);
  if (const auto* b = std::get_if<bool>(&v)) table->insert(k, *b);
  if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    toml::array a;
    for (const std::string& item : *list) a.push_back(item);
    table->insert(k, std::move(a));
  }
}

}  // namespace

const std::vector<Setting>& Settings() {
  using O = DaemonOptions;
  static const std::vector<Setting> kSettings = {
      {"root", "--root", "store root directory", Kind::kString, false, SetString<&O::root>,
       GetString<&O::root>},
      {"socket", "--socket", "unix socket to serve on", Kind::kString, false, SetString<&O::socket>,
       GetString<&O::socket>},
      {"socket_mode", "--socket-mode", "socket permission bits (octal)", Kind::kString, false,
       SetSocketMode, GetSocketMode},
      {"socket_group", "--socket-group", "group owning the socket (name or number)", Kind::kString,
       false, SetString<&O::socket_group>, GetString<&O::socket_group>},
      {"log_level", "--log-level", "debug, info, warn or error", Kind::kString, true, SetLogLevel,
       GetString<&O::log_level>},
      {"import_dirs", "--import-dir",
       "directory clients may import archives from by path (repeatable)", Kind::kStringList, false,
       SetImportDirs, GetImportDirs},
      {"unpack_jobs", "--unpack-jobs", "layers unpacked at once (0: one per CPU)", Kind::kInteger,
       false, SetInteger<&O::unpack_jobs, 0, 1024>, GetInteger<&O::unpack_jobs>},
      {"max_layer_bytes", "--max-layer-bytes",
       "bytes one layer may write to disk (zero runs are holes and do not count)", Kind::kInteger,
       false, SetInteger<&O::max_layer_bytes, 1, kMaxInt64>, GetInteger<&O::max_layer_bytes>},
      {"max_layer_entries", "--max-layer-entries", "entries one layer may have", Kind::kInteger,
       false, SetInteger<&O::max_layer_entries, 1, kMaxInt64>, GetInteger<&O::max_layer_entries>},
      {"sized_backend", "--sized-backend",
       "what makes sized writable layers: auto, btrfs-qgroup, ext4-loop or none", Kind::kString,
       false, SetSizedBackend, GetString<&O::sized_backend>},
      {"metrics_listen", "--metrics-listen",
       "serve Prometheus metrics at host:port, path /metrics (plain HTTP)", Kind::kString, false,
       SetAddress<&O::metrics_listen>, GetString<&O::metrics_listen>},
      {"gc.interval", "--gc-interval",
       "collect garbage this often, e.g. 30m or 6h (0: never on a timer)", Kind::kString, true,
       SetDuration<&O::gc_interval>, GetDuration<&O::gc_interval>},
      {"gc.after_deletions", "--gc-after-deletions",
       "collect garbage a moment after images, snapshots, leases or blobs are deleted",
       Kind::kBoolean, true, SetBoolean<&O::gc_after_deletions>,
       GetBoolean<&O::gc_after_deletions>},
      {"gc.ingest_max_age", "--ingest-max-age", "an ingest idle this long is garbage, e.g. 24h",
       Kind::kString, true, SetDuration<&O::ingest_max_age>, GetDuration<&O::ingest_max_age>},
      {"registry.hosts", "--registry-hosts",
       "registry hosts, containerd's hosts.toml layout (DIR/<host>/hosts.toml)", Kind::kString,
       false, SetString<&O::registry_hosts>, GetString<&O::registry_hosts>},
      {"registry.auth", "--registry-auth",
       "Docker config.json with registry credentials (auths); re-read on SIGHUP", Kind::kString,
       true, SetString<&O::registry_auth>, GetString<&O::registry_auth>},
      {"registry.listen", "--registry-listen",
       "serve the registry API read-only to peers at host:port (plain HTTP)", Kind::kString, false,
       SetAddress<&O::registry_listen>, GetString<&O::registry_listen>},
      {"registry.max_concurrent_downloads", "--max-concurrent-downloads",
       "layer blobs one pull downloads at once (1 to 64)", Kind::kInteger, false,
       SetInteger<&O::max_concurrent_downloads, 1, 64>, GetInteger<&O::max_concurrent_downloads>},
      {"registry.stall_timeout", "--registry-stall-timeout",
       "a registry transfer under 1 KiB/s this long has stalled (resumed a few times, then "
       "failed), e.g. 30s",
       Kind::kString, false, SetDuration<&O::registry_stall_timeout>,
       GetDuration<&O::registry_stall_timeout>},
      {"registry.download_timeout", "--registry-download-timeout",
       "a layer blob not downloaded within this time fails, however its bytes trickle in "
       "(0: no limit)",
       Kind::kString, false, SetDuration<&O::registry_download_timeout>,
       GetDuration<&O::registry_download_timeout>},
  };
  return kSettings;
}

const Setting* FindSetting(absl::string_view key) {
  for (const Setting& s : Settings()) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

absl::Status ApplyConfigText(const std::string& text, const std::string& name,
                             DaemonOptions* options) {
  toml::table table;
  try {
    table = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    // The one place toml++'s exceptions become a status.
    int line = static_cast<int>(e.source().begin.line);
    std::string key = KeyOnLine(text, line);
    std::string why(e.description());
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return Bad(absl::StrCat(name, ":", line, ": ", key.empty() ? "" : key + ": ", why));
  }
  return ApplyTable(table, "", name, options);
}

absl::Status ApplyConfigFile(const std::string& path, DaemonOptions* options) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return Annotate(text.status(), "config file");
  return ApplyConfigText(*text, path, options);
}

std::string FormatConfig(const DaemonOptions& options) {
  toml::table table;
  for (const Setting& s : Settings()) InsertToml(&table, s.key, s.get(options));
  std::ostringstream out;
  out << "# stratad's effective configuration (defaults, then the config file, then flags)\n"
      << table << "\n";
  return out.str();
}

std::string FormatConfigTemplate() {
  DaemonOptions defaults;
  std::string out =
      "# stratad's configuration. Every setting is shown commented out at its\n"
      "# default; uncomment and change what you need. Flags given to stratad\n"
      "# override this file; SIGHUP (systemctl reload strata) re-reads it.\n";
  std::string table;
  for (const Setting& s : Settings()) {
    absl::string_view key = s.key;
    size_t dot = key.find('.');
    std::string this_table = dot == absl::string_view::npos ? "" : std::string(key.substr(0, dot));
    if (this_table != table) {
      table = this_table;
      absl::StrAppend(&out, "\n[", table, "]\n");
    }
    toml::table one;
    InsertToml(&one, key.substr(dot == absl::string_view::npos ? 0 : dot + 1), s.get(defaults));
    std::ostringstream value;
    value << one;
    absl::StrAppend(&out, "\n# ", s.help, " (flag ", s.flag,
                    s.reloadable ? "; SIGHUP applies it" : "", ")\n# ", value.str(), "\n");
  }
  return out;
}

std::vector<std::string> ChangedKeys(const DaemonOptions& a, const DaemonOptions& b) {
  std::vector<std::string> changed;
  for (const Setting& s : Settings()) {
    if (s.get(a) != s.get(b)) changed.push_back(s.key);
  }
  return changed;
}

}  // namespace strata::daemon
