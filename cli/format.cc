#include "cli/format.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace strata::cli {

std::string HumanSize(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? absl::StrFormat("%d B", bytes) : absl::StrFormat("%.1f %s", v, units[u]);
}

std::string ShortDigest(const std::string& digest) {
  size_t colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, 12);
}

std::string TimeText(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string Plural(int64_t n, const std::string& noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

namespace {

bool IsWide(uint32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}

}  // namespace

size_t DisplayWidth(const std::string& s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    uint32_t c = len == 1 ? b : b & (0xFF >> (len + 1));
    for (int k = 1; k < len && i + k < s.size(); ++k) {
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    width += IsWide(c) ? 2 : 1;
    i += static_cast<size_t>(len);
  }
  return width;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = DisplayWidth(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], DisplayWidth(r[i]));
  }
  auto print = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - DisplayWidth(r[i]) + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  };
  print(header);
  for (const auto& r : rows) print(r);
}

ProgressLine::ProgressLine() : tty_(::isatty(2)) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fprintf(stderr, "\n");
}

namespace {

std::string Bar(int64_t done, int64_t total) {
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * std::min(done, total) / total);
  return absl::StrCat("[", std::string(filled, '#'), std::string(kWidth - filled, ' '), "]");
}

}  // namespace

void ProgressLine::Update(const std::string& phase, int64_t done, int64_t total) {
  if (phase == "read") {
    Bytes("reading archive", done, total);
  } else if (phase == "fetch") {
    Bytes("fetching layers", done, total);
  } else if (phase == "push") {
    Bytes("pushing blobs", done, total);
  } else {
    Count(phase, done, total, "layers");
  }
}

void ProgressLine::Bytes(const std::string& label, int64_t done, int64_t total) {
  if (total > 0) {
    Draw(absl::StrFormat("%-16s %s %s / %s", label, Bar(done, total), HumanSize(done),
                         HumanSize(total)));
  } else {
    Draw(absl::StrFormat("%-16s %s", label, HumanSize(done)));
  }
}

void ProgressLine::Count(const std::string& label, int64_t done, int64_t total,
                         const std::string& noun) {
  if (total > 0) {
    Draw(absl::StrFormat("%-16s %s %d/%d %s", label, Bar(done, total), done, total, noun));
  } else {
    Draw(absl::StrFormat("%-16s %d %s", label, done, noun));
  }
}

void ProgressLine::Draw(const std::string& line) {
  if (!tty_) return;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  drawn_ = true;
}

}  // namespace strata::cli
