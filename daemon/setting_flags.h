// The daemon's settings (config.h) as command-line flags. A flag given on
// the command line overrides the config file; one not given leaves it alone.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "daemon/config.h"

namespace strata::daemon {

class SettingFlags {
 public:
  // Adds one flag per setting to `app`, which must outlive this object.
  explicit SettingFlags(CLI::App* app);

  // Stores the flags given on the command line in `options`; InvalidArgument
  // names the flag and what is wrong with its value.
  absl::Status Apply(DaemonOptions* options) const;

 private:
  struct Parsed {
    CLI::Option* option = nullptr;
    std::string text;
    std::vector<std::string> list;
    bool flag = false;
  };
  // Keyed by setting key; std::map keeps each Parsed where CLI11 writes it.
  std::map<std::string, Parsed> parsed_;
};

}  // namespace strata::daemon
