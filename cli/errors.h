// How the CLI reports a failure: one line on stderr, "strata: error: ...",
// or with --json one JSON object {"error": ..., "code": ..., "exit_code": ...}.
#pragma once

#include <string>

namespace strata::cli {

// Exit codes (a contract with users' scripts).
constexpr int kExitFailed = 1;    // the operation failed
constexpr int kExitUsage = 2;     // bad command line
constexpr int kExitProblems = 3;  // fsck: problems remain

// Prints the error and returns `exit_code`. `code` names the gRPC status
// ("NOT_FOUND"), or "USAGE" for a bad command line.
int ReportError(const std::string& message, const std::string& code, int exit_code, bool json);

}  // namespace strata::cli
