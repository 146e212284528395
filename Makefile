# The project's entry points. `make demo` and `make test` work on a fresh Debian 12 machine as
# root: each installs the dependencies (Debian packages only) first.
BUILD_DIR  ?= build/release
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)

.PHONY: deps configure build test demo bench install asan format format-check clean

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake --preset release

build: configure
	cmake --build --preset release -j $(JOBS)

test: build
	ctest --preset release -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD_DIR)/tools/witness

bench: build
	bash scripts/bench.sh $(BUILD_DIR)

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer, all tests.
asan: deps
	cmake --preset dev
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev -j $(JOBS)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build demo-ledger demo-out
