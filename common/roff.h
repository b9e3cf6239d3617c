// Text for man pages (roff), written by the programs that the pages
// describe: stratad from its settings table, strata from its command tree.
#pragma once

#include <string>

#include "absl/strings/str_replace.h"

namespace strata {

// `text` as roff shows it literally: backslashes escaped, and a line that
// would start with a control character ('.' or ''') guarded.
inline std::string RoffText(const std::string& text) {
  std::string out = absl::StrReplaceAll(text, {{"\\", "\\e"}, {"-", "\\-"}});
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

}  // namespace strata
