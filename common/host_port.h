// "host:port" as the listen settings write it (metrics_listen,
// registry.listen): one parser for the settings' check, the start-up
// preflight and the listener that binds it.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace strata {

struct HostPort {
  std::string host;  // without an IPv6 literal's brackets; may be empty
  int port = 0;      // 0 to 65535 (0: the kernel picks)
};

// InvalidArgument, quoting `address`, unless it is host:port with a port
// from 0 to 65535.
inline absl::StatusOr<HostPort> ParseHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  HostPort out;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &out.port) ||
      out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not host:port (a port from 0 to 65535)"));
  }
  out.host = address.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

}  // namespace strata
