// Checks of the CLI's option values, as CLI11 validators: a bad value is a
// usage error (exit 2) before anything reaches the daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"

namespace strata::cli {

// A duration ("90s", "30m", "24h") in whole seconds (at least 1); nullopt
// unless it parses and is positive.
std::optional<int64_t> PositiveSeconds(const std::string& text);

// "30m", "24h": positive durations.
extern const CLI::Validator kPositiveDuration;
// Names, keys, ids and paths given on the command line.
extern const CLI::Validator kNonEmpty;
// KEY=VALUE with a non-empty KEY.
extern const CLI::Validator kKeyValue;

}  // namespace strata::cli
