# The two entry points of the README: `make demo` and `make test`.
BUILD ?= build
PYTEST := /usr/bin/python3 -m pytest
JOBS ?= $(shell nproc)

.PHONY: deps build demo test unit fuzz pytest bench bench-tracer clean faults soak test-asan audit-all

deps:
	@bash ci/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G "Unix Makefiles" >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash tools/demo.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure

# libFuzzer over config.json, state.json and seccomp parsing, bounded; saved
# crashers in runtime/fuzz/regressions are replayed first.
FUZZ_SECONDS ?= 15
fuzz: build
	bash runtime/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

pytest: build
	bash ci/test.sh

test: unit fuzz pytest

# Fault injection, the full sweep (issue 14): every syscall of run, create,
# start, exec, kill, pause, resume, update and delete, failed at each of its
# first 4 occurrences with EIO and ENOSPC; counts in results/faults.json.
# `make test` runs a bounded sample (runtime/tests/test_faults.py). A trial
# fails on a crash, a hang, a leftover or a line that does not name the errno.
# FAULTS_JOBS commands are swept at once (each with its own root and bundle).
FAULTS_JOBS ?= 3
faults: build
	GLASSRUN_BUILD=$(abspath $(BUILD)) $(PYTEST) -q -p no:cacheprovider runtime/tests/test_reliability.py
	GLASSRUN_BUILD=$(abspath $(BUILD)) /usr/bin/python3 runtime/tests/test_faults.py --jobs $(FAULTS_JOBS) --out results/faults.json

# Load, bigger than in `make test`: 8 parallel lifecycle loops, a long
# sequential soak, 32 racing creates of one id.
soak: build
	GLASSRUN_BUILD=$(abspath $(BUILD)) GLASSRUN_LOAD_LOOPS=8 GLASSRUN_LOAD_CYCLES=30 GLASSRUN_RACE_N=32 \
	  GLASSRUN_SOAK_CYCLES=1000 $(PYTEST) -q -p no:cacheprovider runtime/tests/test_reliability.py -k "parallel or soak"

# ASan+UBSan glassrun (dynamically linked, its own build dir) running the
# lifecycle, exec, cgroup and reliability tests; any sanitizer report
# (written under results/asan/) fails the run. Not test_faults.py: strace's
# when=N counts a syscall from process start, and in this binary the dynamic
# loader and the sanitizer runtime make their own calls first (an injected
# sigaction/sigaltstack failure trips ASan's own CHECK), so the Nth call is
# not glassrun's; the fault sweep runs on the static build.
ASAN_BUILD ?= build-asan
# -O0 (Debug): an ASan build at -O2 takes most of an hour on a loaded 2-core machine.
CCACHE_LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DGLASSRUN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CCACHE_LAUNCHER) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target glassrun
	@rm -rf results/asan && mkdir -p results/asan
	GLASSRUN_BUILD=$(abspath $(ASAN_BUILD)) \
	  ASAN_OPTIONS=log_path=$(abspath results/asan)/asan:detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=log_path=$(abspath results/asan)/ubsan:print_stacktrace=1:halt_on_error=1 \
	  $(PYTEST) -q -p no:cacheprovider runtime/tests/test_lifecycle.py runtime/tests/test_exec.py \
	  runtime/tests/test_cgroups.py runtime/tests/test_reliability.py; \
	  rc=$$?; if ls results/asan/* >/dev/null 2>&1; then cat results/asan/*; echo "test-asan: sanitizer reports above" >&2; exit 1; fi; exit $$rc

# The conformance audit check on every catalogue bundle (make test audits
# those the syscall-order check traces): ~3 s per runtime and bundle.
audit-all: build
	CONFORMANCE_AUDIT_ALL=1 GLASSRUN_BUILD=$(abspath $(BUILD)) $(PYTEST) -q -rs -p no:cacheprovider \
	  conformance/test_audit.py --results results/audit-all --strict-accepted

bench: build
	bash bench/run.sh

# What glasstrace costs: loops of 20 runs traced / untraced (and under the raw_tp floor: empty
# programs on the syscall tracepoints), attach, RSS, each BPF program's run time (docs/BENCHMARKS.md);
# the settings of the README's figures (120 rounds: ~25 minutes; one run of 40 rounds is worth ±0.03).
bench-tracer: build
	/usr/bin/python3 bench/tracer_cost.py --glassrun $(BUILD)/runtime/glassrun --rounds 120 --attach-samples 12 --syscall-rounds 8

clean:
	rm -rf $(BUILD)
