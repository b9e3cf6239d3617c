#include "daemon/setting_flags.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace strata::daemon {
namespace {

using Kind = Setting::Kind;

absl::StatusOr<SettingValue> FromFlag(const Setting& s, const std::string& text,
                                      const std::vector<std::string>& list, bool flag) {
  switch (s.kind) {
    case Kind::kString:
      return SettingValue(text);
    case Kind::kBoolean:
      return SettingValue(flag);
    case Kind::kStringList:
      return SettingValue(list);
    case Kind::kInteger: {
      errno = 0;
      char* end = nullptr;
      long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno != 0) {
        return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an integer"));
      }
      return SettingValue(static_cast<int64_t>(n));
    }
  }
  return absl::InternalError("unknown setting kind");
}

}  // namespace

SettingFlags::SettingFlags(CLI::App* app) {
  DaemonOptions defaults;
  for (const Setting& s : Settings()) {
    Parsed& p = parsed_[s.key];
    std::string help = absl::StrCat(s.help, " [config: ", s.key, "]");
    SettingValue def = s.get(defaults);
    switch (s.kind) {
      case Kind::kBoolean:
        p.option = app->add_flag(s.flag, p.flag, help);
        break;
      case Kind::kStringList:
        p.option = app->add_option(s.flag, p.list, help);
        break;
      case Kind::kString:
        p.option = app->add_option(s.flag, p.text, help)->default_str(std::get<std::string>(def));
        break;
      case Kind::kInteger:
        p.option = app->add_option(s.flag, p.text, help)
                       ->type_name("INT")
                       ->default_str(std::to_string(std::get<int64_t>(def)));
        break;
    }
  }
}

absl::Status SettingFlags::Apply(DaemonOptions* options) const {
  for (const Setting& s : Settings()) {
    const Parsed& p = parsed_.at(s.key);
    if (p.option->count() == 0) continue;
    absl::StatusOr<SettingValue> v = FromFlag(s, p.text, p.list, p.flag);
    absl::Status status = v.ok() ? s.set(*v, options) : v.status();
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(s.flag, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace strata::daemon
