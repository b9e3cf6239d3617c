// The CLI's command tree (CLI11): every command, its arguments with their
// help, and the call that runs it. Shell completions are generated from this
// same tree, so they cannot drift from it.
#pragma once

namespace strata::cli {

// Parses the command line and runs the command; the process exit code.
int RunCli(int argc, char** argv);

}  // namespace strata::cli
