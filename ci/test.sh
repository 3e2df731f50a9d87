#!/usr/bin/env bash
# Runs every pytest suite (the GoogleTest binaries run through ctest before
# this, from `make test`). Debian's pytest: /usr/bin/python3, not a pyenv.
set -uo pipefail
cd "$(dirname "$0")/.."
export GLASSRUN_BUILD=${GLASSRUN_BUILD:-$PWD/build}
results=${RESULTS_DIR:-$PWD/results}
mkdir -p "$results"
[ -x tools/prepare-machine.sh ] && bash tools/prepare-machine.sh

suites=(runtime/tests tracer/tests conformance)
present=()
for s in "${suites[@]}"; do ls "$s"/test_*.py >/dev/null 2>&1 && present+=("$s"); done

/usr/bin/python3 -m pytest -rs -p no:cacheprovider --junitxml="$results/junit.xml" "${present[@]}" "$@"
rc=$?
# pytest's 5 means no test ran: for us that is a failure, never a pass.
[ $rc -eq 5 ] && echo "ci/test.sh: pytest collected no tests" >&2 && exit 1
exit $rc
