#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS
# Builds the libFuzzer targets (cmake --target fuzzers), replays every saved
# regression input, then fuzzes each target for SECONDS seconds from its seed
# corpus (corpus/<target>/, left untouched: new inputs go to a scratch dir).
# Crashing/leaking/hanging inputs are kept in regressions/<target>/ so later
# runs replay them. Exits 1 if any replay or fuzzing run found a problem.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
targets=(seccomp_fuzz config_fuzz state_fuzz)
# libseccomp 2.5.4 leaks inside itself (calloc in libseccomp.so) on some
# rule-add paths with several architectures (regressions/seccomp_fuzz/leak-*):
# leak detection is off for that target only; crashes still count.
declare -A target_env=([seccomp_fuzz]="ASAN_OPTIONS=detect_leaks=0")

cmake --build "$build" --target fuzzers -j2 || { echo "run.sh: fuzzers did not build" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0

for t in "${targets[@]}"; do
  exe=$build/runtime/fuzz/$t
  if [ ! -x "$exe" ]; then
    echo "run.sh: $exe missing" >&2; failed=1; continue
  fi
  regressions=$here/regressions/$t
  mkdir -p "$regressions" "$scratch/$t"

  mapfile -t saved < <(find "$regressions" -type f ! -name '.*' | sort)
  if [ ${#saved[@]} -gt 0 ]; then
    echo "== $t: replaying ${#saved[@]} regression input(s)"
    env ${target_env[$t]:-} "$exe" "${saved[@]}" >"$scratch/$t.replay.log" 2>&1 || { echo "run.sh: $t fails a regression:"; tail -30 "$scratch/$t.replay.log"; failed=1; }
  fi

  echo "== $t: fuzzing ${seconds}s"
  if ! env ${target_env[$t]:-} "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$regressions/" "$scratch/$t" "$here/corpus/$t" >"$scratch/$t.log" 2>&1; then
    echo "run.sh: $t found a problem (input saved in $regressions):"; tail -30 "$scratch/$t.log"; failed=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$t.log" | sed "s/^/   /"
  fi
done
exit $failed
