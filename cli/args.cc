#include "cli/args.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
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
  // "64M", "64m", "64MiB" (as strata prints sizes), "64MB": all 64 * 2^20,
  // as docker reads them.
  std::string unit = absl::AsciiStrToUpper(digits == std::string::npos ? "" : text.substr(digits));
  if (absl::EndsWith(unit, "IB")) {
    unit.resize(unit.size() - 2);
  } else if (unit.size() == 2 && unit.back() == 'B') {
    unit.pop_back();
  }
  int shift = 0;
  if (unit == "K") {
    shift = 10;
  } else if (unit == "M") {
    shift = 20;
  } else if (unit == "G") {
    shift = 30;
  } else if (unit == "T") {
    shift = 40;
  } else if (!unit.empty() && unit != "B") {
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

const CLI::Validator kPlatform(
    [](std::string& s) -> std::string {
      std::vector<std::string> parts = absl::StrSplit(s, '/');
      bool ok = parts.size() == 2 || parts.size() == 3;
      for (const std::string& p : parts) {
        ok = ok && !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
               return absl::ascii_isdigit(c) || absl::ascii_islower(c) || c == '_' || c == '.' ||
                      c == '-';
             });
      }
      return ok ? "" : "\"" + s + "\" is not os/arch[/variant] (like linux/arm64/v8)";
    },
    "OS/ARCH[/VARIANT]");

const CLI::Validator kKeyValue(
    [](std::string& s) -> std::string {
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0) return "\"" + s + "\" is not KEY=VALUE";
      return "";
    },
    "KEY=VALUE");

}  // namespace strata::cli
