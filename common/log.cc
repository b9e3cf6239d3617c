#include "common/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace strata::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<Sink> g_sink{nullptr};

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "?";
}

std::optional<Level> ParseLevel(absl::string_view name) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(l)) return l;
  }
  return std::nullopt;
}

namespace {

// Quotes a value when it has spaces, quotes or is empty, so lines stay parseable.
std::string Quote(absl::string_view v) {
  bool plain = !v.empty() && v.find_first_of(" \"=\n") == absl::string_view::npos;
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out + "\"";
}

}  // namespace

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }

void SetSink(Sink sink) { g_sink.store(sink); }

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_level.load()) return;
  if (Sink sink = g_sink.load()) {
    sink(level, msg, fields);
    return;
  }
  std::string line = absl::StrCat(
      "time=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", LevelName(level), " msg=", Quote(msg));
  for (const Field& f : fields) absl::StrAppend(&line, " ", f.first, "=", Quote(f.second));
  line.push_back('\n');
  // A failed write to stderr has nowhere to be reported; ignored on purpose.
  [[maybe_unused]] ssize_t n = ::write(2, line.data(), line.size());
}

}  // namespace strata::log
