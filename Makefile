# The project's entry points. `make demo` and `make test` work on a fresh Debian 12 machine as
# root: each installs the dependencies (Debian packages only) first.
BUILD_DIR  ?= build/release
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)

FUZZ_SECONDS ?= 60

.PHONY: deps configure build test demo bench bench-vs-rocksdb bench-serve bench-large install asan tsan fuzz tidy format format-check clean

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake --preset release

build: configure
	cmake --build --preset release -j $(JOBS)

test: build
	ctest --preset release -j $(JOBS)

# The demo needs only the witness binary: build that target alone (make test builds the rest).
demo: configure
	cmake --build --preset release -j $(JOBS) --target witness
	bash scripts/demo.sh $(BUILD_DIR)/tools/witness

bench: build
	bash scripts/bench.sh $(BUILD_DIR)

# The ledger's speed table (SPEC 10), each row with db_bench's figure from the same run and its
# target. bench-large builds the query and proof ledgers with 10 M nodes (the SPEC's size; about
# 2 minutes on 2 cores with format 2, 20 with format 1) instead of 200 k.
bench-vs-rocksdb: build
	bash scripts/bench-vs-rocksdb.sh $(BUILD_DIR)

# The HTTP load test (issue 18): 64 clients for 10 s on tiles, pages, entries and proofs, and
# nginx serving the same tiles as files in the same run (scripts/bench-serve.sh).
bench-serve: build
	bash scripts/bench-serve.sh $(BUILD_DIR) 10 64 100000

bench-large: build
	WITNESS_BENCH_QUERY_NODES=10000000 bash scripts/bench-vs-rocksdb.sh $(BUILD_DIR)

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer, all tests (the Python module
# is left out: an instrumented extension cannot load into Debian's uninstrumented python3).
asan: deps
	cmake --preset dev
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev -j $(JOBS)

# The threaded tests under ThreadSanitizer. Reports with a RocksDB frame are suppressed (Debian's
# RocksDB is not built for TSan; tests/tsan/suppressions.txt); any other report fails.
tsan: deps
	cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITNESS_BUILD_BENCH=OFF \
	  -DWITNESS_BUILD_PYTHON=OFF -DWITNESS_WERROR=ON -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
	cmake --build build/tsan --target witness_ledger_tests witness_covenant_tests witness_serve_tests -j $(JOBS)
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan/suppressions.txt" \
	  build/tsan/tests/witness_ledger_tests "[concurrency]"
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan/suppressions.txt" \
	  build/tsan/tests/witness_covenant_tests "[concurrency]"
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan/suppressions.txt" \
	  build/tsan/tests/serve/witness_serve_tests "[concurrency]"

# clang-tidy 16 over every library and tool source, with .clang-tidy (findings are errors). The
# short form leaves out the clang-analyzer checks, which take most of the time (about 5 minutes
# on 2 cores instead of over 30); `make tidy TIDY_CHECKS=` runs them too. The dev build's
# sanitizer flags are dropped for it: clang-tidy 16 has no sanitizer headers of its own (abseil
# includes <sanitizer/asan_interface.h> under ASan), and static checks do not need them.
TIDY_CHECKS ?= -clang-analyzer-*
TIDY_FILES  := '$(CURDIR)/(crypto|vsa|ledger|operad|covenant|detect|serve|cluster)/src/.*\.cpp$$|$(CURDIR)/tools/witness/.*\.cpp$$'
tidy: deps
	cmake --preset dev >/dev/null
	run-clang-tidy-16 -p build/dev -quiet -j $(JOBS) -clang-tidy-binary clang-tidy-16 \
	  -extra-arg=-fno-sanitize=all $(if $(TIDY_CHECKS),-checks='$(TIDY_CHECKS)') $(TIDY_FILES)

# libFuzzer targets (clang, with ASan+UBSan), each run for FUZZ_SECONDS on a copy of its seed
# corpus in tests/fuzz/corpus; crashes are written to build/fuzz/crashes.
fuzz: deps
	CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DWITNESS_BUILD_TESTS=OFF -DWITNESS_BUILD_BENCH=OFF -DWITNESS_BUILD_PYTHON=OFF -DWITNESS_BUILD_FUZZ=ON -DWITNESS_WERROR=ON \
	  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
	cmake --build build/fuzz -j $(JOBS)
	bash scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

format:
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build demo-ledger demo-out
