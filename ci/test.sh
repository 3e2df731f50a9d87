#!/usr/bin/env bash
# Runs every pytest suite (the GoogleTest binaries run through ctest before
# this, from `make test`). Debian's pytest: /usr/bin/python3, not a pyenv.
# Each suite runs in its own pytest: each has its own conftest.py, and test
# modules import helpers from it.
set -uo pipefail
cd "$(dirname "$0")/.."
export GLASSRUN_BUILD=${GLASSRUN_BUILD:-$PWD/build}
results=${RESULTS_DIR:-$PWD/results}
mkdir -p "$results"
[ -x tools/prepare-machine.sh ] && bash tools/prepare-machine.sh

status=0
ran=0
for suite in runtime/tests tracer/tests conformance; do
  ls "$suite"/test_*.py >/dev/null 2>&1 || continue
  name=$(echo "$suite" | tr / -)
  echo "== pytest $suite"
  extra=()
  # --strict-accepted: an accepted difference that matched nothing fails
  [ "$suite" = conformance ] && extra=(--results "$results/conformance" --strict-accepted)
  /usr/bin/python3 -m pytest -rs -p no:cacheprovider --junitxml="$results/junit-$name.xml" "$suite" "${extra[@]}" "$@"
  rc=$?
  # pytest's 5 means no test ran: for us that is a failure, never a pass.
  [ $rc -eq 5 ] && echo "ci/test.sh: $suite: pytest collected no tests" >&2
  [ $rc -ne 0 ] && status=1
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "ci/test.sh: no pytest suite found" >&2; exit 1; }
exit $status
