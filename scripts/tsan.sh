#!/usr/bin/env bash
# Builds the concurrency tests, stratad and strata with ThreadSanitizer into
# build-tsan and runs every test labelled "concurrency" there: the metadata
# store's group commit and reopen, the snapshotter's directory pool, parallel
# unpack, GC racing imports, the GC stress test and the 64-client load test
# (whose daemon is instrumented too). Any report fails the test.
#
# Our locks are strata::Mutex (common/mutex.h: std::mutex, which TSan sees);
# scripts/tsan.supp names what TSan cannot see into: Debian's prebuilt gRPC,
# protobuf and RocksDB synchronize with code that is not instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=build-tsan
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_WERROR=ON \
  -DSTRATA_SANITIZE=thread -DSTRATA_TEST_IMAGES_DIR="$ROOT/build/images" ${CMAKE_ARGS:-} > /dev/null
TARGETS=(stratad strata common_test meta_test snapshotter_test importer_test gc_test gc_integration_test load_test)
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TARGETS[@]}"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/tsan.supp}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${TEST_JOBS:-2}" -L concurrency "$@"
