#!/usr/bin/env bash
# Installs dependencies, builds, generates the test images if needed, and runs
# every benchmark (needs root). Not part of the test suite: it prints figures.
set -euo pipefail
# Needs root (dropping caches, mounts): re-run through sudo if need be.
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/make-test-images.sh build/images
build/bench/snapshot_bench "$@"
build/bench/inflate_bench --images build/images
build/bench/import_bench --images build/images
build/bench/commit_bench
build/bench/gc_bench
