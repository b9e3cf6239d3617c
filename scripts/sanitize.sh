#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan
# and runs the whole suite there: every test binary, and every stratad and
# strata the tests start, is instrumented; any report aborts it, failing the
# test. Reuses the debian-rootfs images generated into build/images. The
# benchmarks are not built here: they print figures, they are not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=build-asan \
  CMAKE_ARGS="-DSTRATA_WERROR=ON -DSTRATA_SANITIZE=address,undefined -DSTRATA_BENCH=OFF -DSTRATA_TEST_IMAGES_DIR=$ROOT/build/images ${CMAKE_ARGS:-}" \
  scripts/build.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-asan
ctest --output-on-failure -j "${TEST_JOBS:-2}" "$@"
