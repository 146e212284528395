#!/usr/bin/env bash
# `make bench`: every Google Benchmark of the ledger, then the db_bench comparison with ratios.
set -euo pipefail
build="${1:-build/release}"
cd "$(dirname "$0")/.."
WITNESS_BENCH_QUERY_NODES="${WITNESS_BENCH_QUERY_NODES:-200000}" "$build/bench/witness_ledger_bench" --benchmark_min_time=0.5
bash scripts/bench-vs-rocksdb.sh "$build"
# Operad law suites: one iteration = one 100-case run of one law (SPEC 10: <= 5 ms for
# associativity on agent pipelines, BM_Law/pipeline/sequential-associativity).
"$build/bench/witness_operad_bench" --benchmark_min_time=0.2
