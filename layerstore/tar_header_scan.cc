#include "layerstore/tar_header_scan.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace strata::layerstore {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kSizeOffset = 124;
constexpr size_t kSizeField = 12;
constexpr size_t kTypeOffset = 156;
// Extended headers larger than this are not gathered (libarchive refuses
// far smaller ones for names; xattrs are bounded by 64 KiB each).
constexpr int64_t kMaxExtended = 8 << 20;

int64_t Padded(int64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// A header's size field: octal, or base-256 when the top bit is set.
int64_t HeaderSize(absl::string_view field) {
  int64_t v = 0;
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    for (size_t i = 1; i < field.size(); ++i) {
      if (v > (INT64_MAX >> 8)) return -1;
      v = (v << 8) | static_cast<unsigned char>(field[i]);
    }
    return v;
  }
  for (char c : field) {
    if (c == ' ' && v == 0) continue;
    if (c < '0' || c > '7') break;
    if (v > (INT64_MAX >> 3)) return -1;
    v = v * 8 + (c - '0');
  }
  return v;
}

bool IsExtendedType(char type) { return type == 'x' || type == 'g' || type == 'L' || type == 'K'; }

absl::Status Smuggled(absl::string_view what, absl::string_view value) {
  absl::string_view shown = value.substr(0, value.find('\0'));
  return absl::InvalidArgumentError(
      absl::StrCat("entry \"", absl::CHexEscape(shown), "\": ", what, " contains a NUL byte (\"",
                   absl::CHexEscape(value.substr(0, 256)), "\"); readers disagree on such names"));
}

}  // namespace

absl::Status TarHeaderScan::Feed(const char* data, size_t n) {
  while (n > 0 && error_.ok()) {
    if (extended_left_ > 0) {  // before its padding, in skip_
      size_t k = static_cast<size_t>(std::min<int64_t>(extended_left_, static_cast<int64_t>(n)));
      extended_.append(data, k);
      extended_left_ -= static_cast<int64_t>(k);
      data += k;
      n -= k;
      if (extended_left_ == 0) error_ = OnExtendedData();
    } else if (skip_ > 0) {
      size_t k = static_cast<size_t>(std::min<int64_t>(skip_, static_cast<int64_t>(n)));
      skip_ -= static_cast<int64_t>(k);
      data += k;
      n -= k;
    } else {
      size_t k = std::min(kBlock - block_.size(), n);
      block_.append(data, k);
      data += k;
      n -= k;
      if (block_.size() == kBlock) {
        error_ = OnHeader();
        block_.clear();
      }
    }
  }
  return error_;
}

absl::Status TarHeaderScan::OnHeader() {
  if (block_.find_first_not_of('\0') == std::string::npos) return absl::OkStatus();  // end marker
  char type = block_[kTypeOffset];
  int64_t size = HeaderSize(absl::string_view(block_).substr(kSizeOffset, kSizeField));
  if (size < 0) return absl::OkStatus();  // libarchive reports the malformed header
  if (IsExtendedType(type) && size <= kMaxExtended) {
    pending_type_ = type;
    extended_.clear();
    extended_left_ = size;
    skip_ = Padded(size) - size;
    if (size == 0) return OnExtendedData();
    return absl::OkStatus();
  }
  skip_ = Padded(size);
  return absl::OkStatus();
}

absl::Status TarHeaderScan::OnExtendedData() {
  // The padding after the data is skipped next (skip_ was set with it).
  if (pending_type_ == 'L' || pending_type_ == 'K') {
    // GNU long names end in NULs; one before other bytes hides the rest.
    absl::string_view name(extended_);
    while (!name.empty() && name.back() == '\0') name.remove_suffix(1);
    if (name.find('\0') != absl::string_view::npos) {
      return Smuggled(pending_type_ == 'L' ? "GNU long name" : "GNU long link name", name);
    }
    return absl::OkStatus();
  }
  // PAX records: "<length> <key>=<value>\n", the length counting the whole record.
  absl::string_view rest(extended_);
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    int64_t len = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, space), &len) ||
        len <= static_cast<int64_t>(space) + 1 || len > static_cast<int64_t>(rest.size())) {
      return absl::OkStatus();  // malformed: libarchive reports it
    }
    absl::string_view record = rest.substr(space + 1, static_cast<size_t>(len) - space - 2);
    rest.remove_prefix(static_cast<size_t>(len));
    size_t eq = record.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view key = record.substr(0, eq);
    absl::string_view value = record.substr(eq + 1);
    if ((key == "path" || key == "linkpath") && value.find('\0') != absl::string_view::npos) {
      return Smuggled(absl::StrCat("PAX ", key, " record"), value);
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::layerstore
