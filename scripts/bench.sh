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
# Covenant gate: check latency (SPEC 10: median <= 100 ns, p99 <= 1 us; BM_GateCheckLatency
# reports p50/p99 with the timer's own cost beside them) with 1 and 8 threads, reserve+commit,
# and gated against ungated appends (BM_Append/gated:1 vs gated:0, items_per_second).
"$build/bench/witness_covenant_bench" --benchmark_min_time=0.3
# VSA kernels at D = 4096 (SPEC 10: bind <= 50 ns, cosine <= 100 ns; top-k over 1000 vectors).
"$build/bench/witness_vsa_bench" --benchmark_min_time=0.3
