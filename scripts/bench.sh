#!/usr/bin/env bash
# Installs dependencies, builds, and runs the benchmarks (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/bench/snapshot_bench "$@"
