#include "daemon/manpage.h"

#include <sstream>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/roff.h"
#include "daemon/config.h"

namespace strata::daemon {
namespace {

const char* ValueName(Setting::Kind kind) {
  switch (kind) {
    case Setting::Kind::kInteger:
      return "INT";
    case Setting::Kind::kBoolean:
      return "";
    case Setting::Kind::kString:
    case Setting::Kind::kStringList:
      return "VALUE";
  }
  return "VALUE";
}

std::string DefaultText(const SettingValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->empty() ? "none" : *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "on" : "off";
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    return l->empty() ? "none" : absl::StrJoin(*l, ", ");
  }
  return "";
}

}  // namespace

std::string FormatManPage(const std::string& version) {
  DaemonOptions defaults;
  std::string out = absl::StrCat(
      ".TH STRATAD 8 \"\" \"strata ", RoffText(version), "\" \"System Administration\"\n",
      ".SH NAME\nstratad \\- the strata container image layer store daemon\n",
      ".SH SYNOPSIS\n.B stratad\n[\\fIOPTION\\fR]...\n", ".SH DESCRIPTION\n",
      "stratad keeps container images' layers once, unpacked, and gives each container a\n",
      "copy\\-on\\-write snapshot above them through overlayfs. It serves gRPC on a unix\n",
      "socket: containerd's snapshotter API (a stock containerd uses it as a proxy\n",
      "snapshotter) and its own strata.v1 API, which the \\fBstrata\\fR(1) CLI speaks.\n",
      ".PP\nEvery setting is a flag and a key of the config file: built\\-in defaults, then\n",
      "the file, then the flags given. SIGHUP re\\-reads the file and applies what can\n",
      "change while running; SIGTERM and SIGINT drain in\\-flight calls and exit 0.\n",
      ".SH OPTIONS\n", ".TP\n.BI \\-\\-config \" FILE\"\n",
      "The config file (TOML). Default: /etc/strata/config.toml if it exists; a\n",
      "missing \\fB\\-\\-config\\fR file is an error.\n", ".TP\n.B \\-\\-print\\-config\n",
      "Print the effective configuration (defaults, file, flags) as a config file, and exit.\n",
      ".TP\n.B \\-\\-print\\-config\\-template\n",
      "Print a config file documenting every setting at its default, and exit.\n",
      ".TP\n.B \\-\\-print\\-man\\-page\nPrint this manual page, and exit.\n");
  for (const Setting& s : Settings()) {
    std::string value = ValueName(s.kind);
    absl::StrAppend(&out, ".TP\n", value.empty() ? ".B " : ".BI ", RoffText(s.flag),
                    value.empty() ? "" : absl::StrCat(" \" ", value, "\""), "\n", RoffText(s.help),
                    ".\n", "Config key: \\fB", RoffText(s.key),
                    "\\fR. Default: ", RoffText(DefaultText(s.get(defaults))), ".",
                    s.reloadable ? " SIGHUP applies a change." : "", "\n");
  }
  absl::StrAppend(
      &out, ".SH FILES\n.TP\n/etc/strata/config.toml\nThe config file.\n",
      ".TP\n/var/lib/strata\nThe store's root (\\fB\\-\\-root\\fR).\n",
      ".TP\n/run/strata/strata.sock\nThe socket (\\fB\\-\\-socket\\fR).\n",
      ".SH EXIT STATUS\n0 after a clean stop; 1 when the daemon could not start or stopped on an\n",
      "error; 2 for a bad command line or config file (one line naming the setting).\n",
      "Either is found before anything is created.\n",
      ".SH SEE ALSO\n\\fBstrata\\fR(1), \\fBcontainerd\\fR(8)\n");
  return out;
}

}  // namespace strata::daemon
