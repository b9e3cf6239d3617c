// The one logging facade: one line per event on stderr, "level=... msg=... k=v ...",
// or to a sink the daemon installs (the journal).
// Thread-safe (each line is written with a single write(2)).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace strata::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Field = std::pair<absl::string_view, std::string>;

void SetLevel(Level level);

// Where lines go instead of stderr, e.g. the journal as structured fields
// (the daemon installs one under systemd). Set once, before threads start;
// null restores stderr. Called only for lines at or above the level.
using Sink = void (*)(Level level, absl::string_view msg, std::initializer_list<Field> fields);
void SetSink(Sink sink);
// "debug", "info", "warn", "error".
const char* LevelName(Level level);
// The level named `name` (as LevelName spells it), or nullopt.
std::optional<Level> ParseLevel(absl::string_view name);
void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields = {});

inline void Info(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}
inline void Debug(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}

}  // namespace strata::log
