// stratad's settings, each named once: its key in config.toml, its flag, its
// help, and how a value is checked and stored in DaemonOptions. The config
// file, the flags and --print-config all read this one table, so a setting
// cannot exist in one and be missing from the others.
//
// Precedence: built-in defaults, then the config file, then the flags given.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/daemon.h"

namespace strata::daemon {

// Where the config file is looked for when --config is not given.
inline constexpr char kDefaultConfigPath[] = "/etc/strata/config.toml";

// A value as it arrives from TOML or a flag.
using SettingValue = std::variant<std::string, int64_t, bool, std::vector<std::string>>;

struct Setting {
  enum class Kind { kString, kInteger, kBoolean, kStringList };
  const char* key;   // "gc.interval": a table and a key in config.toml
  const char* flag;  // "--gc-interval"
  const char* help;
  Kind kind;
  // SIGHUP applies a new value without a restart.
  bool reloadable;
  // Checks `v` (of `kind`) and stores it; InvalidArgument says what is wrong
  // with the value, without naming the key (the caller knows where it came from).
  absl::Status (*set)(const SettingValue& v, DaemonOptions* o);
  // The value in `o`, as set() takes it.
  SettingValue (*get)(const DaemonOptions& o);
};

// Every setting, in the order --help shows them.
const std::vector<Setting>& Settings();
// The setting with `key` ("gc.interval"), or null.
const Setting* FindSetting(absl::string_view key);

// Reads a config file over `options`. Errors are one line naming the file,
// the line and the key: `config.toml:7: unknown key "gc.intervall"`.
absl::Status ApplyConfigFile(const std::string& path, DaemonOptions* options);
// The same, from TOML text; `name` stands for the file in errors.
absl::Status ApplyConfigText(const std::string& text, const std::string& name,
                             DaemonOptions* options);

// The effective settings as a config file that ApplyConfigFile reads back.
std::string FormatConfig(const DaemonOptions& options);

// A config file that documents every setting, each commented out at its
// default: what packages install as /etc/strata/config.toml.
std::string FormatConfigTemplate();

// The keys whose values differ between `a` and `b`.
std::vector<std::string> ChangedKeys(const DaemonOptions& a, const DaemonOptions& b);

}  // namespace strata::daemon
