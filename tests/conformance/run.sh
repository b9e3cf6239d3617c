#!/usr/bin/env bash
# Builds the conformance driver (containerd's snapshots/testsuite through its
# proxy snapshotter client; GOPATH mode over Debian's packaged Go sources,
# offline) and runs it against STRATAD. Usage: run.sh STRATAD BUILD_DIR
set -euo pipefail
stratad=$1
out=$2/conformance
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# Go's own build cache (outside the build tree), so the plain and the
# sanitizer builds share the compiled driver and containerd's packages.
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= CGO_ENABLED=1
export GOCACHE=${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/go-build}
(cd "$here" && go test -c -o "$out/conformance.test" .)
cd "$out"
STRATAD="$stratad" ./conformance.test -test.v -test.timeout 10m 2>&1 | tee "$out/last-run.log" |
  grep -E '^\s*--- |^(PASS|FAIL|ok)' || true
# The verdict comes from the run itself (tee hides its exit code).
grep -q '^PASS$' "$out/last-run.log"
