#!/usr/bin/env bash
# run.sh: the benchmarks (`make bench` calls this after building).
#   bench/run.sh [--quick] [lifecycle.py options...]
# 1. micro-benchmarks: build/bench/glassrun_micro_bench (Google Benchmark)
# 2. lifecycle benchmark: bench/lifecycle.py (glassrun vs runc, crun, youki;
#    it prepares the machine first: tools/prepare-machine.sh)
# Results: bench/results/<timestamp>.{json,svg,png} and latest.*; a table on stdout.
# --quick: few samples, for a CI smoke run (under 2 minutes).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${BUILD:-$repo/build}
py=/usr/bin/python3   # Debian's, for python3-matplotlib

[ "$(id -u)" = 0 ] || { echo "bench: needs root (containers)" >&2; exit 1; }
[ -x "$build/runtime/glassrun" ] || { echo "bench: $build/runtime/glassrun not built (make build)" >&2; exit 1; }

quick=
for a in "$@"; do [ "$a" = --quick ] && quick=1; done

mkdir -p "$here/results"
micro_out=$(mktemp /tmp/glassrun-micro.XXXXXX.json)
trap 'rm -f "$micro_out"' EXIT
micro="$build/bench/glassrun_micro_bench"
if [ -x "$micro" ]; then
  echo "== micro-benchmarks ($micro)" >&2
  # libbenchmark 1.7: --benchmark_min_time is seconds, without a unit.
  "$micro" --benchmark_min_time="${quick:+0.02}${quick:-0.3}" \
    --benchmark_out="$micro_out" --benchmark_out_format=json >&2
else
  echo "bench: $micro not built; micro-benchmarks skipped" >&2
  rm -f "$micro_out"
fi

# Three whole runs (one with --quick): the table shows the last run and, per
# figure, the min-max of the three medians, i.e. how far a median moves between
# runs on this machine. A later --runs N in "$@" overrides.
runs=3
[ -n "$quick" ] && runs=1
echo "== lifecycle benchmark (x$runs)" >&2
"$py" "$here/lifecycle.py" --glassrun "$build/runtime/glassrun" --micro "$micro_out" --runs "$runs" "$@"
