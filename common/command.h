// Running a helper program (mkfs.ext4) and finding one on the system.
// Thread-safe: each call spawns its own child.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace strata {

// Runs argv[0] (an absolute path) with argv, stdin from /dev/null, and waits.
// Ok on exit status 0; otherwise Internal with the program's name, its exit
// status and the last line it wrote to stderr.
absl::Status RunCommand(const std::vector<std::string>& argv);

// The absolute path of executable `name` in $PATH or the sbin directories
// (a daemon's PATH often lacks them), or empty when there is none.
std::string FindExecutable(const std::string& name);

}  // namespace strata
