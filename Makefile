# The two entry points of the README: `make demo` and `make test`.
BUILD ?= build
PYTEST := /usr/bin/python3 -m pytest
JOBS ?= $(shell nproc)

.PHONY: deps build demo test unit fuzz pytest bench clean

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

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD)
