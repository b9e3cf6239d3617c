// Shell completion scripts and the manual page generated from the CLI's own
// command tree (so neither drifts from the commands): every
// command and subcommand, every option (with its help, for zsh), files for
// paths, image names (from `strata images -q`) for arguments that name one.
#pragma once

#include <string>

#include "CLI/CLI.hpp"

namespace strata::cli {

// For bash: `source <(strata completion bash)`, or install it as
// /usr/share/bash-completion/completions/strata.
std::string BashCompletion(const CLI::App& app);
// For zsh: install as _strata in a directory on $fpath.
std::string ZshCompletion(const CLI::App& app);
// strata(1): every command with its arguments and options, from the same tree.
std::string ManPage(const CLI::App& app, const std::string& version);

}  // namespace strata::cli
