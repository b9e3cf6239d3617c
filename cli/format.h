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
// Prints rows under a header, columns padded to their widest cell.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// A one-line progress display on stderr, only when stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();  // ends the line
  void Update(const std::string& phase, int64_t done, int64_t total);

 private:
  bool tty_;
  bool drawn_ = false;
};

}  // namespace strata::cli
