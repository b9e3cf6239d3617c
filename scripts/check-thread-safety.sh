#!/usr/bin/env bash
# Checks the lock annotations (ABSL_GUARDED_BY and friends) of the core
# libraries with clang's -Wthread-safety. Syntax only: seconds, not a build.
# Needs the generated protobuf headers of a configured build (BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
CXX=${CLANGXX:-clang++}
files=$(git ls-files 'common/*.cc' 'meta/*.cc' 'snapshotter/*.cc' 'api/*.cc' 'daemon/*.cc' | grep -v '_test\.cc$')
for f in $files; do
  "$CXX" -std=c++17 -fsyntax-only -Wthread-safety -Werror=thread-safety \
    -I. -I"$BUILD_DIR/gen" "$f"
done
echo "thread-safety: $(echo "$files" | wc -w) files clean"
