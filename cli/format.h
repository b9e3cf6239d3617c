// Output helpers for the CLI: human sizes, aligned tables, a progress line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strata::cli {

// 2131968 -> "2.0 MiB".
std::string HumanSize(int64_t bytes);
// "sha256:abcdef..." -> "abcdef012345" (12 hex digits).
std::string ShortDigest(const std::string& digest);
// Seconds since the epoch as "2026-11-27T15:04:05Z".
std::string TimeText(int64_t unix_seconds);
// "1 layer", "2 layers" (nouns that take an s).
std::string Plural(int64_t n, const std::string& noun);
// Columns a UTF-8 string takes on a terminal: one per character, two for
// East Asian wide characters and emoji.
size_t DisplayWidth(const std::string& s);
// Prints rows under a header, columns padded to their widest cell (by display width).
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// A one-line progress display on stderr, only when stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();  // ends the line
  // An import's phases: "read" (archive bytes), then "unpack" (layers); a
  // pull's: "fetch" (layer bytes), then "unpack".
  void Update(const std::string& phase, int64_t done, int64_t total);
  // A bar when the total is known (> 0), else a running count.
  void Bytes(const std::string& label, int64_t done, int64_t total);
  void Count(const std::string& label, int64_t done, int64_t total, const std::string& noun);

 private:
  void Draw(const std::string& line);

  bool tty_;
  bool drawn_ = false;
};

}  // namespace strata::cli
