#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (needs root:
# the tests mount overlayfs and run containerd); then builds it again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs it all once more
# (scripts/sanitize.sh; STRATA_SKIP_SANITIZERS=1 skips that half), runs the
# concurrency tests under ThreadSanitizer (scripts/tsan.sh; STRATA_SKIP_TSAN=1)
# and fuzzes each libFuzzer target for a bounded time (scripts/fuzz.sh;
# STRATA_SKIP_FUZZ=1).
set -euo pipefail
# Needs root (apt-get, overlayfs mounts): re-run through sudo if need be.
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
# Every build of the run has line tables only (stack traces keep their lines).
export CMAKE_ARGS="-DSTRATA_LINE_TABLES_ONLY=ON ${CMAKE_ARGS:-}"
CMAKE_ARGS="-DSTRATA_WERROR=ON $CMAKE_ARGS" scripts/build.sh
scripts/check-thread-safety.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "${TEST_JOBS:-2}" "$@")
if [ "${STRATA_SKIP_SANITIZERS:-0}" != 1 ]; then
  scripts/sanitize.sh "$@"
fi
if [ "${STRATA_SKIP_TSAN:-0}" != 1 ]; then
  scripts/tsan.sh
fi
if [ "${STRATA_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh
fi
