#!/usr/bin/env bash
# Cluster figures on this machine (docs/cluster.md, "Speed"): 3 nats-server nodes, an R3 stream
# and 3 replicas on loopback, all on the same cores as the load, so every figure is a floor.
#   - single-node reference: `witness append --durability sync` of the same kind of nodes;
#   - latency: single-node appends one after another, publish to quorum ack (p50, p99);
#   - throughput: concurrent clients appending batches, nodes/s acknowledged by a quorum, and
#     the replica lag sampled meanwhile (entries between the most and least advanced replica);
#   - catch-up: a replica started from nothing replays the whole stream (CATCHUP entries).
#
# usage: scripts/bench-cluster.sh BUILD_DIR [SECONDS] [CLIENTS] [BATCH] [CATCHUP]
#   defaults 10 s, 4 clients, batches of 500, catch-up of what the run appended; the closing
#   figures used CATCHUP=1000000.
set -euo pipefail
BUILD=${1:?usage: bench-cluster.sh BUILD_DIR [SECONDS] [CLIENTS] [BATCH] [CATCHUP]}
SECONDS_RUN=${2:-10}
CLIENTS=${3:-4}
BATCH=${4:-500}
CATCHUP=${5:-0}
W=$(cd "$BUILD" && pwd)/tools/witness
LOAD=$(cd "$BUILD" && pwd)/bench/witness_cluster_load
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$LOAD" ] || { echo "bench-cluster: build $LOAD first (cmake --build $BUILD)"; exit 1; }
WORK=$(mktemp -d /tmp/witness-bench-cluster.XXXXXX)
SAY_AS=bench-cluster
STREAM=bench
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"
trap cluster_cleanup EXIT

# Single node, as durable as a replica's ack (synced): the same node shape, 100,000 of them.
python3 - "$WORK/ref.jsonl" <<'PY'
import json, sys, time
t = time.time_ns()
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        f.write(json.dumps({"origin": "bench.ref", "kind": "agent.act", "timestamp": t + i,
                            "payload": {"n": i}}) + "\n")
PY
"$W" init --ledger "$WORK/ref" >/dev/null
t0=$(date +%s%N)
"$W" append --ledger "$WORK/ref" --durability sync "$WORK/ref.jsonl" >/dev/null 2>&1
t1=$(date +%s%N)
REF=$(( 100000 * 1000000000 / (t1 - t0) ))
say "single node: witness append --durability sync of 100,000 nodes: $REF nodes/s"

start_cluster bench
for r in 1 2 3; do "$W" init --ledger "$WORK/r$r" >/dev/null; start_replica "r$r" "$WORK/r$r"; done
sleep 1

"$LOAD" latency "$NATS_URLS" bench 500 | tee "$WORK/latency.out" | sed "s/^/$SAY_AS: /"

# Throughput, with the replicas' sizes sampled every 0.5 s.
( while true; do
    s=""; for r in 1 2 3; do s="$s $(size_of "$WORK/r$r")"; done
    echo "$s"; sleep 0.5
  done ) >"$WORK/lag.samples" 2>/dev/null &
echo $! >"$WORK/sampler.pid"
"$LOAD" throughput "$NATS_URLS" bench "$CLIENTS" "$SECONDS_RUN" "$BATCH" | tee "$WORK/throughput.out" | sed "s/^/$SAY_AS: /"
t_stop=$(date +%s%N)
final=$(wait_converged "$WORK/r1" "$WORK/r2" "$WORK/r3")
t_conv=$(date +%s%N)
kill "$(cat "$WORK/sampler.pid")" 2>/dev/null || true
LAG=$(python3 -c '
import sys
lags = []
for line in open(sys.argv[1]):
    v = [int(x) for x in line.split()]
    if len(v) == 3: lags.append(max(v) - min(v))
lags.sort()
print(f"median {lags[len(lags)//2]} entries, max {lags[-1]} entries over {len(lags)} samples" if lags else "no samples")
' "$WORK/lag.samples")
say "replica lag during the load (most minus least advanced replica): $LAG; all 3 at $final entries $(( (t_conv - t_stop) / 1000000 )) ms after the load stopped (includes polling)"
TPUT=$(sed -n 's/.* = \([0-9]*\) nodes\/s.*/\1/p' "$WORK/throughput.out")
say "cluster / single node: $TPUT / $REF = $(python3 -c "print(f'{$TPUT/$REF:.2f}x')")"

# Catch-up: top the stream up to CATCHUP entries, then a new replica replays all of it.
while [ "$CATCHUP" -gt "$final" ]; do
  need=$(( CATCHUP - final ))
  say "appending $need more for the catch-up run"
  rate=${TPUT:-1000}
  "$LOAD" throughput "$NATS_URLS" bench "$CLIENTS" "$(( need / (rate > 0 ? rate : 1) + 1 ))" "$BATCH" >/dev/null
  final=$(wait_converged "$WORK/r1" "$WORK/r2" "$WORK/r3")
done
for r in 1 2 3; do stop_replica "r$r"; done
"$W" init --ledger "$WORK/r4" >/dev/null
t0=$(date +%s%N)
start_replica r4 "$WORK/r4"
while [ "$(size_of "$WORK/r4")" -lt "$final" ]; do sleep 0.5; done
t1=$(date +%s%N)
stop_replica r4
[ "$(root_of "$WORK/r4")" = "$(root_of "$WORK/r1")" ] || { say "the new replica's root differs"; exit 1; }
say "catch-up: a new replica replayed $final entries in $(( (t1 - t0) / 1000000 )) ms ($(( final * 1000000000 / (t1 - t0) )) entries/s), same root"
