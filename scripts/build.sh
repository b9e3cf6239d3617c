#!/usr/bin/env bash
# Configures and builds into ./build (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
. scripts/compiler-cache.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} $CCACHE_LAUNCHER \
  ${CMAKE_ARGS:-} > /dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
