// Where the CLI finds stratad when --socket is not given: $STRATA_SOCKET,
// else the `socket` of the daemon's config file ($STRATA_CONFIG, default
// /etc/strata/config.toml), else /run/strata/strata.sock.
#pragma once

#include <string>

namespace strata::cli {

std::string DefaultSocket();

}  // namespace strata::cli
