#!/usr/bin/env bash
# Installs dependencies, builds, generates the test images if needed, and runs
# every benchmark (needs root). Not part of the test suite: it prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/make-test-images.sh build/images
build/bench/snapshot_bench "$@"
build/bench/inflate_bench --images build/images
build/bench/import_bench --images build/images
build/bench/commit_bench
build/bench/gc_bench
