#!/usr/bin/env bash
# `make demo`: the main job (SPEC 8), first version. On a fresh ./demo-ledger: append a realistic
# incident (detector alerts, agent reactions linked to them, a human decision), query one
# agent's history, follow an action's causes, replay with verification, export, prove, check the
# operad laws and record their verdicts, register the example agents and show a gated append
# allowed and one refused with its denial record, generate the challenge traffic, run the
# detector with its inputs recorded, link an agent's reaction to an alert, follow the alert's
# history, re-execute the run, verify again, summarise.
set -euo pipefail
W="${1:-build/release/tools/witness}"
cd "$(dirname "$0")/.."
export WITNESS_LEDGER="$PWD/demo-ledger"
rm -rf demo-ledger demo-out
mkdir -p demo-out
start=$(date +%s%N)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "create the ledger"
"$W" init

say "append an incident: 18 nodes with causal links, as one atomic batch"
"$W" append examples/agent_actions.jsonl --durability sync >demo-out/append.txt
tail -n 3 demo-out/append.txt

say "what did agent alert.triage do? (query --origin alert.triage)"
"$W" query --origin alert.triage

say "newest 2 high-severity alerts (query --kind detector.alert --tag severity:high --newest-first --limit 2)"
"$W" query --kind detector.alert --tag severity:high --newest-first --limit 2

rate_limit=$("$W" query --origin alert.triage --json | grep '"scope":"lb-pool-a"' | grep '"rule"' |
  sed -n 's/.*"seq":\([0-9]*\).*/\1/p' | head -1)
say "why did the triage agent rate-limit lb-pool-a? (walk $rate_limit --ancestors)"
"$W" lineage "$rate_limit" --ancestors

say "what followed the SYN-flood alert? (walk 6 --descendants)"
"$W" lineage 6 --descendants --depth 3

say "replay with hash-chain verification"
"$W" replay --verify --quiet

say "export as canonical JSON Lines, re-import into a second ledger, compare"
"$W" export --out demo-out/export.jsonl
"$W" init --ledger demo-out/copy >/dev/null
"$W" import demo-out/export.jsonl --ledger demo-out/copy
"$W" export --ledger demo-out/copy --out demo-out/copy.jsonl 2>/dev/null
cmp demo-out/export.jsonl demo-out/copy.jsonl && echo "exports are byte-identical"

say "full verification: ids, hash chain, Merkle tree, every index entry"
"$W" verify

alert=$("$W" query --kind detector.alert --tag syn --json | sed -n 's/.*"seq":\([0-9]*\).*/\1/p' | head -1)
say "inclusion proof of the SYN-flood alert (seq $alert), checked with no ledger at hand"
"$W" proof inclusion "$alert" | tee demo-out/inclusion.json
"$W" proof check demo-out/inclusion.json

say "signed checkpoint (C2SP tlog-checkpoint, Ed25519), verified with the public key"
"$W" checkpoint | tee demo-out/checkpoint.txt
"$W" checkpoint --public-key >demo-out/public-key.txt
"$W" checkpoint verify demo-out/checkpoint.txt --public-key demo-out/public-key.txt

say "operad laws: every shipped suite, verdicts recorded as law.verdict nodes (witness laws)"
"$W" laws --cases 200 --ledger "$WITNESS_LEDGER" | tail -n 2
"$W" query --origin witness.laws --tag law:sequential-associativity

say "covenants: register the two example agents (witness agents register)"
"$W" agents register examples/agents/alert-triage.yaml
"$W" agents register examples/agents/assistant.yaml --issuer secops
"$W" agents list

say "gate explain: may alert.triage append an agent.action? may the assistant block an IP?"
"$W" gate explain alert.triage ledger.append kind=agent.action,walk=incident-0412
"$W" gate explain assistant tool.call kind=firewall.block || echo "(exit $?: denied)"

say "gated appends: an allowed agent.action, then an assistant node of a kind it may not write"
echo '{"origin":"alert.triage","kind":"agent.action","walk":"incident-0412","payload":{"action":"close","usage":{"tokens":420}}}' |
  "$W" append
echo '{"origin":"assistant","kind":"agent.action","walk":"incident-0412","payload":{"action":"block","ip":"10.0.0.7"}}' |
  "$W" append || echo "(exit $?: refused, nothing of it appended)"

say "the denial's audit record (query --kind covenant.denial)"
"$W" query --kind covenant.denial
"$W" query --kind covenant.denial --json | head -1 | tee demo-out/denial.json

say "synthetic traffic: the challenge timeline, 48750 packets with ns timestamps (witness gen-traffic)"
"$W" gen-traffic --scenario challenge --seed 1 --out demo-out/challenge.jsonl
head -n 2 demo-out/challenge.jsonl

say "detector: baseline from the warm-up, every packet scored, run + inputs + alerts recorded (witness detect)"
# The challenge counts its warm-up in records (300), not seconds.
"$W" detect --record-inputs --report --warmup-seconds 0 demo-out/challenge.jsonl | tee demo-out/detect.txt
run_id=$(sed -n 's/^run \([0-9a-f]*\) .*/\1/p' demo-out/detect.txt)
walk=$(sed -n 's/.*walk \(detector\.run:[0-9a-f]*\)).*/\1/p' demo-out/detect.txt)
first_alert=$("$W" query --kind detector.alert --walk "$walk" --limit 1 --json |
  sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
alert_seq=$("$W" query --kind detector.alert --walk "$walk" --limit 1 --json |
  sed -n 's/^{"seq":\([0-9]*\).*/\1/p')

say "the triage agent reacts to the first alert: a gated append linked to it, then a ticket"
echo '{"origin":"alert.triage","kind":"agent.action","walk":"incident-0413","links":[{"relation":"causes","target":"'"$first_alert"'"}],"payload":{"action":"rate-limit","scope":"10.1.0.5","source":"203.0.0.0/16","usage":{"tokens":910}}}
{"origin":"alert.triage","kind":"agent.note","walk":"incident-0413","links":[{"relation":"continues","target":"line:1"}],"payload":{"note":"DNS amplification from 203.0/16; rate limit applied"}}' |
  "$W" append

say "audit history of the alert (seq $alert_seq): what it caused (walk --descendants)"
"$W" lineage "$alert_seq" --descendants --depth 3

say "re-execute the detector run from its recorded inputs (witness replay --rerun)"
"$W" replay --rerun "$run_id"

say "verify again, with the detector's records in"
"$W" verify

say "summary"
"$W" stats
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "demo finished in ${elapsed_ms} ms; ledger in ./demo-ledger, files in ./demo-out"

# On a terminal, the demo ends by serving its ledger to a browser until Ctrl-C; run from a
# script or CI (no terminal), it skips this.
if [ -t 0 ] && [ -t 1 ]; then
  say "the explorer: open the URL below in a browser (Ctrl-C stops the server)"
  exec "$W" serve --listen "${WITNESS_DEMO_LISTEN:-127.0.0.1:8080}" --access-log off
fi
echo "(run on a terminal, make demo ends by serving the explorer: witness serve --ledger ./demo-ledger)"
