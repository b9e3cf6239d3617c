#include "snapshotter/layout.h"

#include <algorithm>

namespace strata::snapshotter {
namespace {
constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
}

std::string Layout::IdName(uint64_t id) {
  std::string out;
  do {
    out.push_back(kDigits[id % 36]);
    id /= 36;
  } while (id != 0);
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<uint64_t> Layout::ParseIdName(absl::string_view name) {
  if (name.empty() || name.size() > 12 || (name.size() > 1 && name[0] == '0')) return std::nullopt;
  uint64_t id = 0;
  for (char c : name) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    id = id * 36 + static_cast<uint64_t>(digit);
  }
  return id;
}

}  // namespace strata::snapshotter
