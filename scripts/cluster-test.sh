#!/usr/bin/env bash
# The cluster end to end on loopback (docs/cluster.md): 3 nats-server nodes with JetStream, an
# R3 stream, 3 replicas, appenders in several processes, and faults in the middle of it: kill -9
# of a NATS node and of a replica, SIGSTOP/SIGCONT of each, then restarts. Afterwards every
# replica must converge, pass `witness verify` and hold the same root; a 4th replica started
# from nothing must catch up to the same root; checkpoints cosigned during the faults must
# state the roots every replica has at their sizes; a replica whose ledger differs must be
# reported as a fork; and scripts/cluster_check.py checks the recorded history (no acknowledged
# node lost or misplaced, no duplicates, no budget overshot).
#
# usage: scripts/cluster-test.sh BUILD_DIR [APPENDERS] [BATCHES] [BATCH_SIZE] [FAULTS] [PACE_MS]
#   defaults 3 appenders x 24 batches x 50 nodes, a batch every 500 ms, 4 faults (the short
#   form `make test` runs); the long form in docs/cluster.md.
set -euo pipefail

BUILD=${1:?usage: cluster-test.sh BUILD_DIR [APPENDERS] [BATCHES] [BATCH_SIZE] [FAULTS]}
APPENDERS=${2:-3}
BATCHES=${3:-24}
BATCH_SIZE=${4:-50}
FAULTS=${5:-4}
PACE_MS=${6:-500}  # between an appender's batches, so that the appends span the faults
W=$(cd "$BUILD" && pwd)/tools/witness
HERE=$(cd "$(dirname "$0")" && pwd)
command -v nats-server >/dev/null || { echo "cluster-test: nats-server not found (scripts/install-deps.sh installs it)"; exit 1; }

WORK=$(mktemp -d /tmp/witness-cluster.XXXXXX)
SAY_AS=cluster-test
STREAM=test
# shellcheck source=cluster-lib.sh
. "$HERE/cluster-lib.sh"
trap cluster_cleanup EXIT

T0=$(date +%s)
start_cluster test

ADMIN_PUB=$("$W" keygen "$WORK/admin.pem" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
for r in 1 2 3; do
  "$W" init --ledger "$WORK/r$r" >/dev/null
  start_replica "r$r" "$WORK/r$r" --admin-key "$ADMIN_PUB"
done

# Covenants through the stream: one per appender origin, and one small budget they share.
BUDGET_CALLS=40
register() {  # SUBJECT CALLS
  cat >"$WORK/$1.yaml" <<YAML
id: $1
version: "1"
capabilities: [ledger.append]
permissions:
  - permit ledger.append kind=agent.*
budgets:
  calls: $2
YAML
  "$W" agents register --nats "$NATS_URLS" --nats-stream test --admin-key "$WORK/admin.pem" \
    --json "$WORK/$1.yaml" >>"$WORK/acks-covenants.jsonl"
}
for a in $(seq 1 "$APPENDERS"); do register "agent.p$a" 1000000; done
register agent.budget "$BUDGET_CALLS"
say "covenants granted through the stream; appenders: $APPENDERS x $BATCHES batches x $BATCH_SIZE nodes; faults: $FAULTS"

# Each appender's batches, with fixed timestamps so that a retry republishes the same ids; each
# batch also carries one node from agent.budget (more in all than its budget allows).
python3 - "$WORK" "$APPENDERS" "$BATCHES" "$BATCH_SIZE" <<'PY'
import json, sys, time
work, appenders, batches, size = sys.argv[1], *map(int, sys.argv[2:])
t = time.time_ns()
for a in range(1, appenders + 1):
    for b in range(batches):
        with open(f"{work}/batch-{a}-{b}.jsonl", "w") as f:
            for i in range(size):
                t += 1000
                origin = "agent.budget" if i == 0 else f"agent.p{a}"
                f.write(json.dumps({"origin": origin, "kind": "agent.act", "timestamp": t,
                                    "payload": {"a": a, "b": b, "i": i}}) + "\n")
PY

appender() {  # A: its batches in order; a batch whose quorum did not answer is retried
  local a=$1 b tries rc
  for b in $(seq 0 $((BATCHES - 1))); do
    for tries in $(seq 1 30); do
      rc=0
      "$W" append --nats "$NATS_URLS" --nats-stream test --timeout-ms 10000 --json \
        "$WORK/batch-$a-$b.jsonl" >"$WORK/out-$a.tmp" 2>>"$WORK/appender-$a.log" || rc=$?
      # 0: all appended; 1: some denied (the budget): acknowledged all the same.
      if [ $rc -le 1 ]; then cat "$WORK/out-$a.tmp" >>"$WORK/acks-$a.jsonl"; break; fi
      echo "batch $b try $tries: exit $rc" >>"$WORK/appender-$a.log"
      sleep 0.5
    done
    [ $rc -le 1 ] || { echo "appender $a: batch $b never acknowledged" >>"$WORK/appender-$a.log"; return 1; }
    sleep "$(printf '%d.%03d' $((PACE_MS / 1000)) $((PACE_MS % 1000)))"
  done
}

faults() {
  local f victim
  for f in $(seq 1 "$FAULTS"); do
    sleep 1
    victim=$(( (f - 1) % 3 + 1 ))
    case $(( (f - 1) % 4 )) in
      0) say "fault $f: kill -9 NATS node $victim, restart after 2 s"
         kill -9 "$(cat "$WORK/nats$victim.pid")"; sleep 2; start_nats "$victim" ;;
      1) say "fault $f: kill -9 replica r$victim, restart after 1 s"
         kill -9 "$(cat "$WORK/replica-r$victim.pid")"; sleep 1; start_replica "r$victim" "$WORK/r$victim" --admin-key "$ADMIN_PUB" ;;
      2) say "fault $f: SIGSTOP NATS node $victim for 2 s"
         kill -STOP "$(cat "$WORK/nats$victim.pid")"; sleep 2; kill -CONT "$(cat "$WORK/nats$victim.pid")" ;;
      3) say "fault $f: SIGSTOP replica r$victim for 2 s"
         kill -STOP "$(cat "$WORK/replica-r$victim.pid")"; sleep 2; kill -CONT "$(cat "$WORK/replica-r$victim.pid")" ;;
    esac
    # A checkpoint cosigned by a quorum, now (it may not get one in the middle of a fault).
    "$W" cluster checkpoint --nats "$NATS_URLS" --stream test --quorum 2 >"$WORK/cp-$f.txt" 2>>"$WORK/checkpoints.log" ||
      rm -f "$WORK/cp-$f.txt"
  done
}

T1=$(date +%s%N)
pids=()
for a in $(seq 1 "$APPENDERS"); do appender "$a" & pids+=($!); done
faults & fault_pid=$!
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
T2=$(date +%s%N)
wait $fault_pid
[ $failed = 0 ] || { say "an appender failed"; exit 1; }
ACKED=$(cat "$WORK"/acks-[0-9]*.jsonl | wc -l)
say "appenders done: $ACKED nodes acknowledged in $(( (T2 - T1) / 1000000 )) ms ($(( ACKED * 1000000000 / (T2 - T1) )) nodes/s, one witness append process per batch, paced, with faults)"

s1=$(wait_converged "$WORK/r1" "$WORK/r2" "$WORK/r3")
say "replicas converged at $s1 entries"

# All three cosign the final tree head; the note verifies only with a quorum of their keys.
"$W" cluster checkpoint --nats "$NATS_URLS" --stream test --quorum 3 >"$WORK/cp-final.txt"
KEYS=()
for r in 1 2 3; do KEYS+=(--public-key "$(sed -n 's/.*cosigning checkpoints as //p' "$WORK/replica-r$r.log" | tail -1)"); done
"$W" checkpoint verify "$WORK/cp-final.txt" "${KEYS[@]}" --quorum 3 | tee "$WORK/cp-final.verify"
grep -q "size $s1 " "$WORK/cp-final.verify"
if "$W" checkpoint verify "$WORK/cp-final.txt" "${KEYS[@]:0:2}" --public-key "$(sed -n 's/.*cosigning checkpoints as //p' "$WORK/replica-r1.log" | tail -1)" --quorum 3 >/dev/null 2>&1; then
  say "a note verified with a quorum of 3 from 1 distinct key"; exit 1
fi

# A replica whose ledger holds an entry of its own is a fork: the cosigning names it.
"$W" init --ledger "$WORK/r5" >/dev/null
echo '{"origin":"agent.rogue","kind":"agent.act","payload":{}}' | "$W" append --ledger "$WORK/r5" --no-gate >/dev/null 2>&1
start_replica r5 "$WORK/r5" --admin-key "$ADMIN_PUB"
for _ in $(seq 1 240); do [ "$(size_of "$WORK/r5")" = "$s1" ] && break; sleep 0.25; done
# Five more nodes, then a checkpoint that must extend the final one (--since): the quorum's
# consistency proof holds, the fork's fails.
python3 -c '
import json, time
t = time.time_ns()
for i in range(5):
    print(json.dumps({"origin": "agent.p1", "kind": "agent.act", "timestamp": t + i, "payload": {"after": i}}))
' >"$WORK/more.jsonl"
# r5 reports on the same subject, and (missing the first grants) denies these: the client takes
# an outcome only when a quorum of replicas agree, so they come back appended (else exit 1).
"$W" append --nats "$NATS_URLS" --nats-stream test --quorum 3 "$WORK/more.jsonl" >>"$WORK/acks-more.jsonl"
s1=$((s1 + 5))
wait_converged "$WORK/r1" "$WORK/r2" "$WORK/r3" "$WORK/r5" >/dev/null
rc=0
"$W" cluster checkpoint --nats "$NATS_URLS" --stream test --quorum 3 --since "$WORK/cp-final.txt" \
  --json >"$WORK/cp-fork.json" 2>"$WORK/cp-fork.err" || rc=$?
[ $rc = 1 ] && grep -q "FORK at size $s1: replica r5" "$WORK/cp-fork.err" ||
  { say "the fork was not reported (exit $rc)"; cat "$WORK/cp-fork.err"; exit 1; }
python3 - "$WORK/cp-fork.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["consistency"] == "holds", j["consistency"]
[fork] = j["forks"]
assert fork["replica"] == "r5" and fork["consistency"].startswith("fails"), fork
PY
say "fork reported: $(head -1 "$WORK/cp-fork.err"); the quorum's consistency proof from the previous checkpoint holds, r5's $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["forks"][0]["consistency"])' "$WORK/cp-fork.json")"
stop_replica r5

# Reads from any replica: witness serve on r1's ledger while r1 writes it.
"$W" serve --ledger "$WORK/r1" --listen 127.0.0.1:0 --access-log off >"$WORK/serve.out" 2>"$WORK/serve.log" &
echo $! >"$WORK/serve.pid"
disown
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on \(http[^ ]*\)\/$/\1/p' "$WORK/serve.out")
served=$(python3 -c '
import json, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(json.load(opener.open(sys.argv[1] + "/v1/stats", timeout=10))["size"])' "$url")
kill -TERM "$(cat "$WORK/serve.pid")"
[ "$served" = "$s1" ] || { say "witness serve on a replica says $served entries, not $s1"; exit 1; }
say "witness serve on replica r1's ledger answers /v1/stats with its $served entries"

for r in 1 2 3; do stop_replica "r$r"; done
for r in 1 2 3; do
  "$W" verify --ledger "$WORK/r$r" >"$WORK/verify-r$r.out" || { cat "$WORK/verify-r$r.out"; exit 1; }
done
R1=$(root_of "$WORK/r1"); R2=$(root_of "$WORK/r2"); R3=$(root_of "$WORK/r3")
[ "$R1" = "$R2" ] && [ "$R2" = "$R3" ] || { say "roots differ: $R1 / $R2 / $R3"; exit 1; }
say "all 3 verify; root and chain head equal: $R1"

# A new replica from nothing replays the stream to the same root.
"$W" init --ledger "$WORK/r4" >/dev/null
T3=$(date +%s%N)
start_replica r4 "$WORK/r4" --admin-key "$ADMIN_PUB"
for _ in $(seq 1 240); do [ "$(size_of "$WORK/r4")" = "$s1" ] && break; sleep 0.25; done
T4=$(date +%s%N)
stop_replica r4
"$W" verify --ledger "$WORK/r4" >/dev/null
R4=$(root_of "$WORK/r4")
[ "$R4" = "$R1" ] || { say "the new replica's root differs: $R4"; exit 1; }
say "a new replica caught up with $s1 entries in $(( (T4 - T3) / 1000000 )) ms and verifies, same root"

# Every checkpoint cosigned during the faults states the root each replica has at its size.
ncp=0
for cp in "$WORK"/cp-[0-9]*.txt; do
  [ -f "$cp" ] || continue
  size=$(sed -n 2p "$cp"); root=$(sed -n 3p "$cp")
  for r in 1 2 3 4; do
    got=$("$W" proof consistency "$size" "$s1" --ledger "$WORK/r$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root1"])')
    [ "$got" = "$root" ] || { say "replica r$r's root at $size is $got, cosigned $root"; exit 1; }
  done
  ncp=$((ncp + 1))
done
say "$ncp checkpoint(s) cosigned during the faults agree with every replica's root at their size"

# Bootstrap: a stream that keeps 100 messages, 300 appended: a new replica cannot start from the
# stream, so it copies a peer, checks the copy against a cosigned checkpoint, then follows.
"$W" cluster init --nats "$NATS_URLS" --stream short --replicas 1 --max-msgs 100 >/dev/null
STREAM=short
"$W" init --ledger "$WORK/s1" >/dev/null
start_replica s1 "$WORK/s1"
python3 -c '
import json, time
t = time.time_ns()
for i in range(300):
    print(json.dumps({"origin": "agent.short", "kind": "agent.act", "timestamp": t + i, "payload": {"i": i}}))
' >"$WORK/short.jsonl"
# In appends of 50: each is acknowledged once the replicas applied it, so the retention (100)
# never passes a live replica. (A burst larger than the retention would: see docs/cluster.md.)
append_short() {  # QUORUM
  rm -f "$WORK"/short-part-*
  split -l 50 "$WORK/short.jsonl" "$WORK/short-part-"
  for part in "$WORK"/short-part-*; do
    "$W" append --nats "$NATS_URLS" --nats-stream short --quorum "$1" --timeout-ms 20000 "$part" >/dev/null 2>&1
  done
}
append_short 1
"$W" init --ledger "$WORK/s2" >/dev/null
rc=0
timeout 30 "$W" replica --ledger "$WORK/s2" --nats "$NATS_URLS" --stream short --name s2 \
  >"$WORK/s2-alone.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "retention has passed this replica" "$WORK/s2-alone.out" ||
  { say "a replica behind the retention did not stop as it should (exit $rc)"; cat "$WORK/s2-alone.out"; exit 1; }
"$W" cluster checkpoint --nats "$NATS_URLS" --stream short --quorum 1 >"$WORK/cp-short.txt"
start_replica s2 "$WORK/s2" --bootstrap "$WORK/s1" --checkpoint "$WORK/cp-short.txt" \
  --checkpoint-key "$(sed -n 's/.*cosigning checkpoints as //p' "$WORK/replica-s1.log" | tail -1)"
sed -i 's/"i": /"j": /' "$WORK/short.jsonl"  # 300 more, new ids
append_short 2
short_size=$(wait_converged "$WORK/s1" "$WORK/s2")
[ "$short_size" = 600 ] || { say "bootstrap: the short stream's replicas hold $short_size, not 600"; exit 1; }
stop_replica s1; stop_replica s2
"$W" verify --ledger "$WORK/s2" >/dev/null
[ "$(root_of "$WORK/s1")" = "$(root_of "$WORK/s2")" ] || { say "bootstrap: roots differ"; exit 1; }
say "bootstrap: behind a 100-message retention, a replica copied its peer ($(grep -o 'bootstrapped [0-9]* entries' "$WORK/replica-s2.log")), checked it against a cosigned checkpoint and followed: both at 600 entries, same root"
STREAM=test

for r in 1 2 3 4; do "$W" export --ledger "$WORK/r$r" --out "$WORK/export-r$r.jsonl"; done
python3 "$HERE/cluster_check.py" "$WORK" "$WORK"/export-r{1,2,3,4}.jsonl --budget "agent.budget=$BUDGET_CALLS"
say "passed in $(( $(date +%s) - T0 )) s"
