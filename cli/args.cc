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

std::optional<int64_t> ByteSize(const std::string& text) {
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || text.empty()) return std::nullopt;
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  int shift = 0;
  if (unit == "K" || unit == "k") {
    shift = 10;
  } else if (unit == "M" || unit == "m") {
    shift = 20;
  } else if (unit == "G" || unit == "g") {
    shift = 30;
  } else if (unit == "T" || unit == "t") {
    shift = 40;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  std::string number = text.substr(0, digits);
  if (number.size() > 18) return std::nullopt;
  int64_t n = std::stoll(number);
  if (n <= 0 || n > (INT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

const CLI::Validator kByteSize(
    [](std::string& s) -> std::string {
      if (ByteSize(s)) return "";
      return "\"" + s + "\" is not a positive size (like 512M or 10G)";
    },
    "BYTES[K|M|G]");

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
