#!/usr/bin/env bash
# Crash test (SPEC 11): runs `witness append --stream --durability sync` on a generated stream,
# kills it with SIGKILL at random moments, and after each kill checks that
#   - every node whose acknowledgement was printed is in the ledger (no acknowledged loss),
#   - `witness verify` passes (no torn or half-indexed node, chain and Merkle tree intact),
#   - appending resumes with a gapless seq (verify checks gaplessness).
# Usage: scripts/crash-test.sh WITNESS_BINARY [KILLS] [NODES]
set -euo pipefail
W="$1"
kills="${2:-5}"
nodes="${3:-100000}"  # enough that most kills land mid-stream; each run resumes the last
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WITNESS_LEDGER="$work/ledger"
"$W" init >/dev/null

# A stream where every third node links to the line before it (causal chains across batches).
awk -v n="$nodes" 'BEGIN {
  for (i = 1; i <= n; i++) {
    link = (i % 3 == 0) ? ",\"links\":[{\"relation\":\"causes\",\"target\":\"line:" (i - 1) "\"}]" : ""
    printf "{\"origin\":\"agent.%d\",\"kind\":\"agent.action\",\"timestamp\":%d,\"walk\":\"w%d\",\"tags\":[\"t%d\"],\"payload\":{\"i\":%d,\"pad\":\"%s\"}%s}\n",
      i % 7, 1700000000000000000 + i, i % 13, i % 5, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", link
  }
}' >"$work/stream.jsonl"

acked_total=0
for k in $(seq 1 "$kills"); do
  : >"$work/acks.jsonl"
  "$W" append --stream --durability sync "$work/stream.jsonl" >"$work/acks.jsonl" 2>"$work/err" &
  pid=$!
  # Kill somewhere in a 2 s window that starts after 0.3 s (opening after a kill replays
  # RocksDB's WAL, about 0.3 s here, so earlier kills would mostly land before the first commit). Each run re-sends the whole stream: nodes already
  # present are acknowledged with their existing seq, so the run resumes where the last died.
  # A restarted run first re-acknowledges what is already present (about 50 per ms here), so
  # the window grows with the ledger; otherwise late kills would rarely hit new appends.
  present=$("$W" stats --json | grep -o '"size":[0-9]*' | cut -d: -f2)
  delay_ms=$(( 300 + present / 50 + RANDOM % 2000 ))
  sleep "$(( delay_ms / 1000 )).$(printf '%03d' $(( delay_ms % 1000 )))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Every acknowledged id must be in the ledger.
  { grep -o '"id":"[0-9a-f]*"' "$work/acks.jsonl" || true; } | cut -d'"' -f4 | sort -u >"$work/acked"
  "$W" export 2>/dev/null | grep -o '^{"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u >"$work/present"
  missing=$(comm -23 "$work/acked" "$work/present" | wc -l)
  acked=$(wc -l <"$work/acked")
  acked_total=$((acked_total + acked))
  if [ "$missing" != 0 ]; then
    echo "kill $k: $missing acknowledged nodes missing" >&2
    exit 1
  fi
  if ! "$W" verify >"$work/verify" 2>&1; then
    echo "kill $k: verify failed:" >&2
    cat "$work/verify" >&2
    exit 1
  fi
  echo "kill $k: $acked acknowledged, all present; ledger $("$W" stats --json | grep -o '"size":[0-9]*'); verify ok"
done
# Finally the whole stream goes in, idempotently, and the ledger still verifies.
"$W" append --durability sync "$work/stream.jsonl" >/dev/null 2>&1
size=$("$W" stats --json | grep -o '"size":[0-9]*' | cut -d: -f2)
[ "$size" = "$nodes" ] || { echo "after the full append: size $size, want $nodes" >&2; exit 1; }
"$W" verify >/dev/null
echo "crash test: $kills kills, $acked_total acknowledgements checked, 0 lost"
