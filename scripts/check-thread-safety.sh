#!/usr/bin/env bash
# Checks the lock annotations (ABSL_GUARDED_BY and friends) of the core
# libraries with clang's -Wthread-safety. Syntax only: a file at a time, as
# many at once as there are cores; a minute, not a build.
# Needs the generated protobuf headers of a configured build (BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD_DIR=${BUILD_DIR:-build}
export CXX=${CLANGXX:-clang++}
files=$(git ls-files 'common/*.cc' 'meta/*.cc' 'snapshotter/*.cc' 'layerstore/*.cc' 'registry/*.cc' \
  'api/*.cc' 'daemon/*.cc' | grep -v '_test\.cc$')
echo "$files" | xargs -P "$(nproc)" -n 1 sh -c \
  '"$CXX" -std=c++17 -fsyntax-only -Wthread-safety -Werror=thread-safety -I. -I"$BUILD_DIR/gen" "$0"'
echo "thread-safety: $(echo "$files" | wc -w) files clean"
