#include "cli/args.h"

#include "absl/time/time.h"

namespace strata::cli {

std::optional<int64_t> PositiveSeconds(const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return std::nullopt;
  }
  return std::max<int64_t>(1, absl::ToInt64Seconds(d));
}

const CLI::Validator kPositiveDuration(
    [](std::string& s) -> std::string {
      if (PositiveSeconds(s)) return "";
      return "\"" + s + "\" is not a positive duration (like 30m or 24h)";
    },
    "DURATION");

const CLI::Validator kNonEmpty(
    [](std::string& s) -> std::string { return s.empty() ? "must not be empty" : ""; }, "");

const CLI::Validator kKeyValue(
    [](std::string& s) -> std::string {
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0) return "\"" + s + "\" is not KEY=VALUE";
      return "";
    },
    "KEY=VALUE");

}  // namespace strata::cli
