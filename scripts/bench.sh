#!/usr/bin/env bash
# Installs dependencies, builds, generates the test images if needed, and runs
# every benchmark (needs root). Not part of the test suite: it prints figures.
set -euo pipefail
# Needs root (dropping caches, mounts): re-run through sudo if need be.
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The pull benchmark's peers and tools, beyond what the tests need.
for p in podman curl iproute2; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman curl iproute2
    break
  fi
done
scripts/build.sh
scripts/make-test-images.sh build/images
build/bench/snapshot_bench "$@"
# One client through containerd's own Go proxy client, against containerd's
# overlayfs snapshotter served the same way; then as the stores grow.
(cd bench/go && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$PWD/../../build/go-cache" \
  go build -o ../../build/bench/snapbench .)
for held in 0 1000 20000 ${STRATA_BENCH_MAX_HELD:-100000}; do
  dir=$(mktemp -d /var/tmp/snapbench.XXXXXX)
  build/bench/snapbench -stratad build/daemon/stratad -dir "$dir" -held "$held" -seconds 6
  rm -rf "$dir"
done
build/bench/inflate_bench --images build/images
build/bench/import_bench --images build/images
build/bench/pull_bench --images build/images
build/bench/commit_bench
build/bench/gc_bench
build/bench/sized_bench
build/bench/chain_bench
