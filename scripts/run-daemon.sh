#!/usr/bin/env bash
# Installs what the daemon needs, builds stratad and the strata CLI (nothing
# else: no tests, fuzzers or benchmarks), and starts stratad in the
# foreground on its embedded defaults (root /var/lib/strata, socket
# /run/strata/strata.sock), or with whatever flags are passed. Says how long
# each step took.
set -euo pipefail
# Needs root (apt-get, overlayfs mounts): re-run through sudo if need be.
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
step() {  # step NAME COMMAND...: runs it and says how long it took
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "run-daemon: $name took $((SECONDS - start)) s" >&2
}
step "installing packages" scripts/install-deps.sh daemon
. scripts/compiler-cache.sh  # ccache, if it is installed
step "configuring" cmake -S . -B "${BUILD_DIR:-build}" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
  $CCACHE_LAUNCHER ${CMAKE_ARGS:-} > /dev/null
step "building stratad and strata" cmake --build "${BUILD_DIR:-build}" -j "$(nproc)" \
  --target stratad strata
exec "${BUILD_DIR:-build}"/daemon/stratad "$@"
