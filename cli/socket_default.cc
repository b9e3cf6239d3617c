#include "cli/socket_default.h"

#include <toml++/toml.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace strata::cli {
namespace {

constexpr char kDefaultSocket[] = "/run/strata/strata.sock";
constexpr char kDefaultConfig[] = "/etc/strata/config.toml";

}  // namespace

std::string DefaultSocket() {
  if (const char* env = std::getenv("STRATA_SOCKET"); env != nullptr && *env != '\0') return env;
  const char* config = std::getenv("STRATA_CONFIG");
  std::string path = config != nullptr && *config != '\0' ? config : kDefaultConfig;
  std::ifstream in(path);
  if (!in) return kDefaultSocket;
  try {
    // The one place toml++'s exceptions are caught in the CLI.
    toml::table table = toml::parse(in, path);
    if (std::optional<std::string> socket = table["socket"].value<std::string>()) return *socket;
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "strata: warning: %s does not parse (line %d); using %s\n", path.c_str(),
                 static_cast<int>(e.source().begin.line), kDefaultSocket);
  }
  return kDefaultSocket;
}

}  // namespace strata::cli
