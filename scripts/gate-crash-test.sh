#!/usr/bin/env bash
# Gated crash test (SPEC 5.3, 11): seven agents with a budget of BUDGET calls each stream more
# nodes than that through `witness append --stream --durability sync` (gated), which is killed
# with SIGKILL at random moments. After each kill:
#   - every acknowledged node is in the ledger,
#   - no agent has more than BUDGET nodes in the ledger (a crash never lets a budget overshoot),
#   - `witness verify` passes.
# At the end the whole stream is sent once more without a kill: each agent then has at most
# BUDGET nodes, and what the crashes forfeited (leases counted as spent) is printed.
# Usage: scripts/gate-crash-test.sh WITNESS_BINARY [KILLS] [NODES] [BUDGET]
set -euo pipefail
W="$1"
kills="${2:-5}"
nodes="${3:-40000}"
budget="${4:-4000}"
agents=7
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WITNESS_LEDGER="$work/ledger"
"$W" init >/dev/null
for a in $(seq 0 $((agents - 1))); do
  printf 'id: agent.%d\nversion: "1"\ndescription: crash test agent\ncapabilities: [ledger.append]\npermissions:\n  - permit ledger.append kind=agent.*\nbudgets: {calls: %d}\n' \
    "$a" "$budget" >"$work/agent.$a.yaml"
  "$W" agents register "$work/agent.$a.yaml" >/dev/null
done

awk -v n="$nodes" -v m="$agents" 'BEGIN {
  for (i = 1; i <= n; i++)
    printf "{\"origin\":\"agent.%d\",\"kind\":\"agent.action\",\"timestamp\":%d,\"payload\":{\"i\":%d}}\n",
      i % m, 1700000000000000000 + i, i
}' >"$work/stream.jsonl"

count_agent() { "$W" query --origin "agent.$1" --json | grep -c '' || true; }
check_budgets() {
  for a in $(seq 0 $((agents - 1))); do
    local have; have=$(count_agent "$a")
    if [ "$have" -gt "$budget" ]; then
      echo "$1: agent.$a has $have nodes, budget $budget: overshoot" >&2
      exit 1
    fi
  done
}

acked_total=0
for k in $(seq 1 "$kills"); do
  "$W" append --stream --durability sync "$work/stream.jsonl" >"$work/acks.jsonl" 2>"$work/err" &
  pid=$!
  # A full first run takes about 2 s here (40000 nodes, 28000 allowed); kills land in it and,
  # while budget is left, in the runs that resume it.
  delay_ms=$(( 100 + RANDOM % 1500 ))
  sleep "$(( delay_ms / 1000 )).$(printf '%03d' $(( delay_ms % 1000 )))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  { grep -o '"id":"[0-9a-f]*"' "$work/acks.jsonl" || true; } | cut -d'"' -f4 | sort -u >"$work/acked"
  "$W" export 2>/dev/null | grep -o '^{"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u >"$work/present"
  missing=$(comm -23 "$work/acked" "$work/present" | wc -l)
  acked=$(wc -l <"$work/acked")
  acked_total=$((acked_total + acked))
  [ "$missing" = 0 ] || { echo "kill $k: $missing acknowledged nodes missing" >&2; exit 1; }
  check_budgets "kill $k"
  "$W" verify >"$work/verify" 2>&1 || { echo "kill $k: verify failed" >&2; cat "$work/verify" >&2; exit 1; }
  echo "kill $k: $acked acknowledged, all present; no budget overshot; verify ok"
done

# A last full run: refusals make it exit 1; what matters is what is in the ledger.
"$W" append --stream --durability sync "$work/stream.jsonl" >/dev/null 2>&1 || true
check_budgets "final"
"$W" verify >/dev/null
total=0
for a in $(seq 0 $((agents - 1))); do total=$((total + $(count_agent "$a"))); done
denials=$("$W" query --kind covenant.denial --json | grep -c '' || true)
echo "gate crash test: $kills kills, $acked_total acknowledgements checked, 0 lost;" \
  "$total of $((agents * budget)) budgeted calls appended ($((agents * budget - total)) forfeited" \
  "by crashes), $denials denials recorded, no overshoot"
