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

// A byte count with an optional binary unit: "1048576", "64M", "64MiB",
// "64mb", "10G" (K, M, G, T, with or without B or iB, any case, are powers of
// 1024); nullopt unless positive and in range.
std::optional<int64_t> ByteSize(const std::string& text);

// "64M", "10G": positive byte sizes.
extern const CLI::Validator kByteSize;
// "30m", "24h": positive durations.
extern const CLI::Validator kPositiveDuration;
// Names, keys, ids and paths given on the command line.
extern const CLI::Validator kNonEmpty;
// os/arch[/variant], as OCI platforms are written.
extern const CLI::Validator kPlatform;
// KEY=VALUE with a non-empty KEY.
extern const CLI::Validator kKeyValue;

}  // namespace strata::cli
