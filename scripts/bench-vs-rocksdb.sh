#!/usr/bin/env bash
# Runs RocksDB's db_bench (Debian rocksdb-tools) and witness's benchmarks in the same run, with
# the same key/value sizes (16-byte keys, 256-byte values/payloads), and prints each ratio.
# Every row of the ledger's speed table (SPEC 10, issue 16) is printed with its ratio or
# figure and its target, so that one run shows where the ledger stands.
# Usage: scripts/bench-vs-rocksdb.sh BUILD_DIR   (BUILD_DIR holds bench/witness_ledger_bench and
# tools/witness)
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

# witness append FILE end to end: the CLI on 200k JSON lines of about 375 bytes, one batch.
cli="$build/tools/witness"
cli_rate=0
if [ -x "$cli" ]; then
  python3 - "$work/lines.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write(json.dumps({"origin": "agent.a%d" % (i % 50), "kind": "agent.action",
                            "timestamp": 1800000000000000000 + i, "walk": "w%d" % (i % 1000),
                            "tags": ["t%d" % (i % 7)], "payload": {"i": i, "msg": "x" * 200}}) + "\n")
PY
  "$cli" init --ledger "$work/cli" >/dev/null
  start=$(date +%s.%N)
  "$cli" append --ledger "$work/cli" "$work/lines.jsonl" >/dev/null 2>&1
  end=$(date +%s.%N)
  cli_rate=$(python3 -c "print(200000 / ($end - $start))")
fi

echo "witness (google benchmark; query and proof ledgers of $nodes nodes):"
WITNESS_BENCH_QUERY_NODES="$nodes" "$bench" --benchmark_min_time=1 \
  --benchmark_filter='BM_AppendBatch/100/0/real_time/threads:1$|BM_AppendBatch/100/1/real_time/threads:8$|BM_AppendSingle/real_time/threads:1$|BM_ReplayVerify/1|BM_NodeCreate|BM_Query|BM_InclusionProofGenerate' \
  --benchmark_format=json >"$work/w.json"
python3 - "$work/w.json" "$ref_batch" "$ref_sync" "$ref_single" "$ref_readseq" "$cli_rate" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["benchmarks"]
ref_batch, ref_sync, ref_single, ref_readseq, cli_rate = map(float, sys.argv[2:7])
def get(prefix):
    for b in data:
        if b["name"].startswith(prefix):
            return b
    return None
rows = [
    ("durable append, batches of 100 (WAL)", "BM_AppendBatch/100/0/real_time/threads:1", ref_batch, ">= 1.2x"),
    ("append with fsync, 8 threads, batch 100", "BM_AppendBatch/100/1/real_time/threads:8", ref_sync, ">= 1.0x"),
    ("replay with chain verification", "BM_ReplayVerify/1", ref_readseq, ">= 0.8x"),
]
for label, name, ref, target in rows:
    b = get(name)
    if b is None:
        continue
    rate = b["items_per_second"]
    print(f"  {label:42s} {rate/1e6:7.3f} M/s   ratio to db_bench {rate/ref:5.2f}x (nodes/s vs keys/s; target {target})")
if cli_rate > 0:
    print(f"  {'witness append FILE (CLI, 200k lines)':42s} {cli_rate/1e6:7.3f} M/s   ratio to db_bench {cli_rate/ref_batch:5.2f}x (vs fillseq batch 100; target >= 0.7x)")
b = get("BM_AppendSingle/real_time/threads:1")
if b:
    print(f"  {'single append (WAL) latency':42s} p50 {b['p50_us']:.1f} us  p99 {b['p99_us']:.1f} us   db_bench fillseq {1e6/ref_single:.1f} us/op (target p50 <= 5, p99 <= 25)")
b = get("BM_NodeCreate")
if b:
    print(f"  {'TraceNode create + id (256 B payload)':42s} {b['real_time']:.0f} ns (target <= 500)")
b = get("BM_QueryNewest1000OneOrigin")
if b:
    print(f"  {'query newest 1000 of one origin':42s} {b['real_time']:.2f} ms  (ledger {int(b['ledger_nodes'])} nodes; target <= 2 ms at 10 M: make bench-large)")
b = get("BM_InclusionProofGenerate")
if b:
    us = b["real_time"] if b.get("time_unit") == "us" else b["real_time"] / 1000
    print(f"  {'inclusion proof, generate':42s} {us:.1f} us  (ledger of the proof benchmark; target <= 20 us at 10 M)")
PY
