#include "cli/format.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto print = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
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
