#!/usr/bin/env bash
# Builds the concurrency tests with ThreadSanitizer into build-tsan and runs
# every test labelled "concurrency": strata::Mutex's waits, the metadata
# store's group commit and reopen under readers, the snapshotter's directory
# pool, a file read while it downloads (layerstore_test's GrowingFile),
# parallel unpack, imports racing GC, and api_concurrency_test (eight
# threads on the service objects against back-to-back collections). Any
# report fails the test.
#
# These run in process on purpose. Debian's gRPC, protobuf, abseil and
# RocksDB are prebuilt without instrumentation; through a socket, each call
# passes inside gRPC's core, whose locking and arena reuse TSan cannot see,
# and every handler would be reported. Our own locks are strata::Mutex
# (std::mutex, which TSan intercepts), and scripts/tsan.supp names only the
# prebuilt libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=build-tsan
. scripts/compiler-cache.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_WERROR=ON $CCACHE_LAUNCHER \
  -DSTRATA_SANITIZE=thread -DSTRATA_TEST_IMAGES_DIR="$ROOT/build/images" ${CMAKE_ARGS:-} > /dev/null
TARGETS=(common_test meta_test snapshotter_test layerstore_test importer_test gc_test
  api_concurrency_test gc_policy_test)
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TARGETS[@]}"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/tsan.supp}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${TEST_JOBS:-2}" -L concurrency "$@"
