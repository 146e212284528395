#!/usr/bin/env bash
# Crash test (SPEC 11): appends a generated stream with sync durability, kills the appender with
# SIGKILL at random moments, and after each kill checks that
#   - every acknowledged node is in the ledger at the seq its acknowledgement gave,
#   - `witness verify` passes (no torn or half-indexed node, chain and Merkle tree intact),
#   - appending resumes with a gapless seq (the next run goes on; verify checks gaplessness).
# At the end the whole stream goes in once more without a kill: the ledger must then hold
# exactly NODES entries and verify.
#
# Usage: scripts/crash-test.sh [--threads N --appender BIN] WITNESS [KILLS] [NODES]
#   default      the appender is `witness append --stream --durability sync` (one thread)
#   --threads N  the appender is BIN (tests/tools/crash_appender.cpp, built as
#                witness_crash_appender): N threads in one process, one sync append each
set -euo pipefail
threads=0
appender=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --appender) appender="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
W="$1"
kills="${2:-5}"
nodes="${3:-100000}"
if [ "$threads" != 0 ] && [ -z "$appender" ]; then
  echo "crash-test: --threads needs --appender BIN (witness_crash_appender)" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WITNESS_LEDGER="$work/ledger"
"$W" init >/dev/null

# Every third node links to the line before it: causal chains across commit groups (and, with
# threads, across threads: a node waits until the one it names is in).
awk -v n="$nodes" 'BEGIN {
  for (i = 1; i <= n; i++) {
    link = (i % 3 == 0) ? ",\"links\":[{\"relation\":\"causes\",\"target\":\"line:" (i - 1) "\"}]" : ""
    printf "{\"origin\":\"agent.%d\",\"kind\":\"agent.action\",\"timestamp\":%d,\"walk\":\"w%d\",\"tags\":[\"t%d\"],\"payload\":{\"i\":%d,\"pad\":\"%s\"}%s}\n",
      i % 7, 1700000000000000000 + i, i % 13, i % 5, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", link
  }
}' >"$work/stream.jsonl"

size_of_ledger() { "$W" stats --json | grep -o '"size":[0-9]*' | cut -d: -f2; }

acked_total=0
for k in $(seq 1 "$kills"); do
  present=$(size_of_ledger)
  : >"$work/acks.jsonl"
  if [ "$threads" != 0 ]; then
    "$appender" "$WITNESS_LEDGER" "$work/stream.jsonl" "$threads" >"$work/acks.jsonl" 2>"$work/err" &
  else
    "$W" append --stream --durability sync "$work/stream.jsonl" >"$work/acks.jsonl" 2>"$work/err" &
  fi
  pid=$!
  # Each run re-sends the whole stream: nodes already present are acknowledged with their seq,
  # then new ones are appended. The kill comes once a random number of new nodes (on average
  # half of what is left shared among the kills left: the group in flight at a kill and the
  # delay add more, and the last kills should still land mid-stream) has been acknowledged,
  # plus 0-19 ms, so it falls anywhere in a commit group.
  remaining=$(( nodes - present ))
  span=$(( remaining / (kills - k + 1) ))
  [ "$span" -ge 1 ] || span=1
  [ "$span" -le "$remaining" ] || span=$remaining
  target=$(( present + 1 + ((RANDOM << 15) | RANDOM) % (span > 0 ? span : 1) ))
  while kill -0 "$pid" 2>/dev/null && [ "$(wc -l <"$work/acks.jsonl")" -lt "$target" ]; do
    sleep 0.005
  done
  sleep "0.0$(printf '%02d' $(( RANDOM % 20 )))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -s "$work/err" ]; then
    echo "kill $k: the appender failed:" >&2
    cat "$work/err" >&2
    exit 1
  fi
  # Every acknowledged (seq, id) must be in the ledger: export is in seq order from 0.
  { grep -o '"seq":[0-9]*,"id":"[0-9a-f]*"' "$work/acks.jsonl" || true; } |
    sed 's/"seq":\([0-9]*\),"id":"\([0-9a-f]*\)"/\1 \2/' | sort -u >"$work/acked"
  "$W" export 2>/dev/null | grep -o '^{"id":"[0-9a-f]*"' | cut -d'"' -f4 |
    awk '{ print NR - 1, $0 }' | sort -u >"$work/present"
  missing=$(comm -23 "$work/acked" "$work/present" | wc -l)
  acked=$(wc -l <"$work/acked")
  acked_total=$((acked_total + acked))
  if [ "$missing" != 0 ]; then
    echo "kill $k: $missing acknowledged nodes missing or at another seq, e.g.:" >&2
    comm -23 "$work/acked" "$work/present" | head -3 >&2
    exit 1
  fi
  if ! "$W" verify >"$work/verify" 2>&1; then
    echo "kill $k: verify failed:" >&2
    cat "$work/verify" >&2
    exit 1
  fi
  echo "kill $k: $acked acknowledged ($(( acked > present ? acked - present : 0 )) new), all present; ledger size $(size_of_ledger); verify ok"
done
# Finally the whole stream goes in, idempotently, and the ledger still verifies.
"$W" append --durability sync "$work/stream.jsonl" >/dev/null 2>&1
size=$(size_of_ledger)
[ "$size" = "$nodes" ] || { echo "after the full append: size $size, want $nodes" >&2; exit 1; }
"$W" verify >/dev/null
mode="one appender"
[ "$threads" = 0 ] || mode="$threads appender threads"
echo "crash test ($mode): $kills kills, $acked_total acknowledgements checked, 0 lost"
