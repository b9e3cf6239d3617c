// strata: the operator's CLI, a client of stratad. Commands and flags are a
// contract (DESIGN.md, last section). Exit codes: 0 success, 1 the operation
// failed (one line on stderr), 2 bad usage, 3 fsck left problems.
#include "cli/app.h"

int main(int argc, char** argv) { return strata::cli::RunCli(argc, argv); }
