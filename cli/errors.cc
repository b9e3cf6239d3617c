#include "cli/errors.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace strata::cli {

int ReportError(const std::string& message, const std::string& code, int exit_code, bool json) {
  if (json) {
    nlohmann::json out = {{"error", message}, {"code", code}, {"exit_code", exit_code}};
    std::fprintf(stderr, "%s\n", out.dump().c_str());
  } else {
    std::fprintf(stderr, "strata: error: %s\n", message.c_str());
  }
  return exit_code;
}

}  // namespace strata::cli
