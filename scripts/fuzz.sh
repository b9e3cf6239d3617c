#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ ASan + UBSan) into build-fuzz and
# runs each for a bounded time from its seed corpus (tests/fuzz/README.md).
#
#   scripts/fuzz.sh                 every target, $STRATA_FUZZ_SECONDS (30) each
#   scripts/fuzz.sh filter request  the named targets only
#
# Exits non-zero on the first crash, leak, timeout or sanitizer report, and
# names the input that caused it; copy it into tests/fuzz/regressions/<target>/
# once fixed, and every build replays it from then on. The corpora grown here
# are kept in build-fuzz/corpus for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_EACH=${STRATA_FUZZ_SECONDS:-30}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(unpack_layer oci_parsers filter request)

. scripts/compiler-cache.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo $CCACHE_LAUNCHER \
  -DSTRATA_FUZZ=ON -DSTRATA_SANITIZE=address,undefined ${CMAKE_ARGS:-} > /dev/null
if ! cmake --build build-fuzz -j "$(nproc)" --target strata_fuzzers > build-fuzz/build.log 2>&1; then
  grep -E 'error|Error' build-fuzz/build.log | head -30
  exit 1
fi

SEEDS=build-fuzz/seeds
rm -rf "$SEEDS"
python3 tests/fuzz/make_seeds.py --proto proto --out "$SEEDS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-fuzz/artifacts
status=0
# Two at a time: one per core.
run() {
  local t=$1 corpus=build-fuzz/corpus/$1 log=build-fuzz/$1.log
  mkdir -p "$corpus"
  cp -n "$SEEDS/$t"/* tests/fuzz/regressions/"$t"/* "$corpus"/ 2>/dev/null || true
  if build-fuzz/tests/fuzz/"$t"_fuzzer -max_total_time="$SECONDS_EACH" -timeout=25 \
      -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/artifacts/"$t"- "$corpus" > "$log" 2>&1; then
    echo "fuzz $t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs" \
      "in ${SECONDS_EACH}s, corpus $(ls "$corpus" | wc -l), clean"
  else
    echo "fuzz $t: FAILED; the input is in build-fuzz/artifacts/, the log in $log:"
    grep -E 'ERROR|SUMMARY|runtime error|answered|outside' "$log" | head -5
    return 1
  fi
}
pids=()
for t in "${TARGETS[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
