#include "cli/format.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

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

void ProgressLine::Update(const std::string& phase, int64_t done, int64_t total) {
  if (!tty_) return;
  std::string line;
  if (phase == "read") {
    line = absl::StrFormat("reading archive  %s", HumanSize(done));
  } else if (total > 0) {
    int width = 30;
    int filled = static_cast<int>(width * done / total);
    line = absl::StrFormat("%-8s [%s%s] %d/%d layers", phase, std::string(filled, '#'),
                           std::string(width - filled, ' '), done, total);
  } else {
    line = absl::StrFormat("%s", phase);
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  drawn_ = true;
}

}  // namespace strata::cli
