#include "layerstore/reference.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace strata::layerstore {
namespace {

constexpr size_t kMaxNameLength = 255;

// Built once; RE2 objects are thread-safe to share.
const RE2& ReferencePattern() {
  static const RE2* re = [] {
    const std::string alnum = "[a-z0-9]+";
    const std::string separator = "(?:[._]|__|-+)";
    const std::string component = alnum + "(?:" + separator + alnum + ")*";
    const std::string domain_part = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const std::string domain =
        "(?:" + domain_part + "(?:\\." + domain_part + ")*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?";
    const std::string name = "((?:" + domain + "/)?" + component + "(?:/" + component + ")*)";
    const std::string tag = "[\\w][\\w.-]{0,127}";
    const std::string digest =
        "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    return new RE2(name + "(?::" + tag + ")?(?:@" + digest + ")?");
  }();
  return *re;
}

std::string Shown(absl::string_view name) {
  constexpr size_t kShown = 80;
  std::string s = absl::CHexEscape(name.substr(0, kShown));
  return name.size() > kShown ? s + "..." : s;
}

// Like Docker, a first component is a registry only if it looks like a host
// (a '.', a port, "localhost" or an IPv6 address); otherwise it is part of
// the repository and must be lower case.
bool UpperCaseOutsideRegistry(absl::string_view repository) {
  size_t slash = repository.find('/');
  absl::string_view first = repository.substr(0, slash);
  bool host = slash != absl::string_view::npos &&
              (first.find_first_of(".:[") != absl::string_view::npos || first == "localhost");
  absl::string_view path = host ? repository.substr(slash + 1) : repository;
  for (char c : path) {
    if (absl::ascii_isupper(c)) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateImageName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("image name must not be empty");
  std::string repository;
  bool matched =
      RE2::FullMatch(re2::StringPiece(name.data(), name.size()), ReferencePattern(), &repository);
  if (matched && UpperCaseOutsideRegistry(repository)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image name \"", Shown(name), "\": the repository must be lower case"));
  }
  if (matched && repository.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("image name \"", Shown(name), "\": longer than ",
                                                   kMaxNameLength, " characters"));
  }
  if (matched) return absl::OkStatus();
  std::string why = "not a valid reference ([registry[:port]/]path[:tag][@digest])";
  std::string lower = absl::AsciiStrToLower(name);
  if (lower != name && RE2::FullMatch(lower, ReferencePattern())) {
    why = "the repository must be lower case";
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      why =
          "contains a character outside ASCII (names are lower-case ASCII letters, digits "
          "and . _ - / : @)";
      break;
    }
    if (!absl::ascii_isgraph(c)) {
      why = "contains a space or control character";
      break;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("image name \"", Shown(name), "\": ", why));
}

}  // namespace strata::layerstore
