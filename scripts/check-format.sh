#!/usr/bin/env bash
# Fails if any C++ file differs from what clang-format (config in .clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
