// Running programs from tests: spawn with output to a log file, wait, or run
// to completion and capture the output.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace strata::testing {

// fork+exec argv[0] (a path) with stdout and stderr appended to `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log);
// Waits for `pid`; its exit code, or 128+signal.
int WaitExit(pid_t pid);

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};
// Runs argv (argv[0] searched in PATH if it has no slash) to completion.
RunResult RunCommand(const std::vector<std::string>& argv);

}  // namespace strata::testing
