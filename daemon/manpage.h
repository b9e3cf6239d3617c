// stratad(8), generated from the settings table, so the manual never drifts
// from the flags and keys the daemon takes (`stratad --print-man-page`; the
// package installs it).
#pragma once

#include <string>

namespace strata::daemon {

std::string FormatManPage(const std::string& version);

}  // namespace strata::daemon
