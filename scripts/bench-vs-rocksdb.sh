#!/usr/bin/env bash
# Runs RocksDB's db_bench (Debian rocksdb-tools) and witness's benchmarks in the same run, with
# the same key/value sizes (16-byte keys, 256-byte values/payloads), and prints each ratio.
# Usage: scripts/bench-vs-rocksdb.sh BUILD_DIR   (BUILD_DIR holds bench/witness_ledger_bench)
set -euo pipefail
build="${1:-build/release}"
bench="$build/bench/witness_ledger_bench"
[ -x "$bench" ] || { echo "no $bench: run 'make build' first" >&2; exit 2; }
command -v db_bench >/dev/null || { echo "db_bench not found: apt-get install rocksdb-tools" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nodes="${WITNESS_BENCH_QUERY_NODES:-200000}"

dbb() {  # dbb NAME ARGS...: prints ops/s of one db_bench benchmark
  local name="$1"; shift
  rm -rf "$work/db"
  db_bench --db="$work/db" --key_size=16 --value_size=256 --compression_type=none "$@" 2>/dev/null |
    awk -v n="$name" '$1 == n { for (i = 1; i <= NF; i++) if ($i == "ops/sec") print $(i-1) }'
}
echo "reference (db_bench, 1M keys):"
ref_batch=$(dbb fillseq --benchmarks=fillseq --batch_size=100 --num=1000000)
ref_sync=$(dbb fillseq --benchmarks=fillseq --batch_size=100 --num=50000 --sync=1 --threads=8)
ref_single=$(dbb fillseq --benchmarks=fillseq --num=1000000)
ref_readseq=$(dbb readseq --benchmarks=fillseq,readseq --num=1000000)
printf '  fillseq batch 100:        %s ops/s\n  fillseq batch 100 sync x8: %s ops/s\n  fillseq single:           %s ops/s\n  readseq:                  %s ops/s\n' \
  "$ref_batch" "$ref_sync" "$ref_single" "$ref_readseq"

echo "witness (google benchmark; query ledger of $nodes nodes):"
WITNESS_BENCH_QUERY_NODES="$nodes" "$bench" --benchmark_min_time=1 \
  --benchmark_filter='BM_AppendBatch/100/0/real_time/threads:1$|BM_AppendBatch/100/1/real_time/threads:8$|BM_AppendSingle/real_time/threads:1$|BM_ReplayVerify/1|BM_NodeCreate|BM_Query' \
  --benchmark_format=json >"$work/w.json"
python3 - "$work/w.json" "$ref_batch" "$ref_sync" "$ref_single" "$ref_readseq" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["benchmarks"]
ref_batch, ref_sync, ref_single, ref_readseq = map(float, sys.argv[2:6])
def get(prefix):
    for b in data:
        if b["name"].startswith(prefix):
            return b
    return None
rows = [
    ("durable append, batches of 100 (WAL)", "BM_AppendBatch/100/0/real_time/threads:1", ref_batch, "nodes/s vs keys/s", 1.2),
    ("append with fsync, 8 threads, batch 100", "BM_AppendBatch/100/1/real_time/threads:8", ref_sync, "nodes/s vs keys/s", None),
    ("replay with chain verification", "BM_ReplayVerify/1", ref_readseq, "nodes/s vs keys/s", None),
]
for label, name, ref, unit, target in rows:
    b = get(name)
    if b is None:
        continue
    rate = b["items_per_second"]
    print(f"  {label:42s} {rate/1e6:7.3f} M/s   ratio to db_bench {rate/ref:5.2f}x ({unit})")
b = get("BM_AppendSingle/real_time/threads:1")
if b:
    print(f"  {'single append (WAL) latency':42s} p50 {b['p50_us']:.1f} us  p99 {b['p99_us']:.1f} us   db_bench fillseq {1e6/ref_single:.1f} us/op")
b = get("BM_NodeCreate")
if b:
    print(f"  {'TraceNode create + id (256 B payload)':42s} {b['real_time']:.0f} ns")
b = get("BM_QueryNewest1000OneOrigin")
if b:
    print(f"  {'query newest 1000 of one origin':42s} {b['real_time']:.2f} ms  (ledger {int(b['ledger_nodes'])} nodes)")
PY
