#!/usr/bin/env python3
"""The history checker of scripts/cluster-test.sh, in the style of Jepsen's set workload.

It reads what the appenders were told (one {"seq","id","outcome",...} line per acknowledged
node, in acks-*.jsonl) and every replica's ledger as `witness export` writes it (entry N is line
N), and checks that:
  - every acknowledged node is in every replica, at the seq it was acknowledged with, and what
    it became (appended, denied, rejected) is what the entry says;
  - no node id appears twice in a replica;
  - every replica holds the same entries (so the same chain and root: the ledgers are compared
    line by line, and `witness stats` roots by the caller);
  - no agent's budget is overshot: the entries of each budgeted origin are at most its calls;
  - every denial and rejection is the gate's or the cluster's own record.
Prints a summary and exits 1 on the first kind of failure, naming it.

usage: cluster_check.py WORK_DIR REPLICA_EXPORT... --budget ORIGIN=CALLS ...
"""
import glob
import json
import os
import sys


def main():
    args = sys.argv[1:]
    budgets = {}
    exports = []
    work = args[0]
    i = 1
    while i < len(args):
        if args[i] == "--budget":
            origin, calls = args[i + 1].split("=")
            budgets[origin] = int(calls)
            i += 2
        else:
            exports.append(args[i])
            i += 1
    failures = []

    replicas = []
    for path in exports:
        with open(path) as f:
            replicas.append([json.loads(line) for line in f if line.strip()])
    sizes = [len(r) for r in replicas]
    if len(set(sizes)) != 1:
        failures.append(f"replicas differ in size: {sizes}")
    first = replicas[0]
    for k, r in enumerate(replicas[1:], start=2):
        for seq, (a, b) in enumerate(zip(first, r)):
            if a != b:
                failures.append(f"replica 1 and {k} differ at seq {seq}: {a['id']} vs {b['id']}")
                break

    for k, r in enumerate(replicas, start=1):
        seen = {}
        for seq, e in enumerate(r):
            if e["id"] in seen:
                failures.append(f"replica {k}: node {e['id']} at seq {seen[e['id']]} and {seq}")
            seen[e["id"]] = seq

    acks = []
    for path in sorted(glob.glob(os.path.join(work, "acks-*.jsonl"))):
        with open(path) as f:
            acks.extend(json.loads(line) for line in f if line.strip())
    lost = 0
    wrong = 0
    outcomes = {"appended": 0, "denied": 0, "rejected": 0}
    for a in acks:
        outcomes[a["outcome"]] = outcomes.get(a["outcome"], 0) + 1
        for k, r in enumerate(replicas, start=1):
            if a["seq"] >= len(r):
                lost += 1
                failures.append(f"acknowledged seq {a['seq']} ({a['id']}) is not in replica {k}")
                continue
            e = r[a["seq"]]
            if a["outcome"] == "appended" and e["id"] != a["id"]:
                wrong += 1
                failures.append(f"replica {k} seq {a['seq']}: {e['id']}, acknowledged {a['id']}")
            if a["outcome"] == "denied" and (e["origin"], e["kind"]) != ("witness.gate", "covenant.denial"):
                wrong += 1
                failures.append(f"replica {k} seq {a['seq']}: acknowledged denied, entry is {e['kind']}")
            if a["outcome"] == "rejected" and (e["origin"], e["kind"]) != ("witness.cluster", "cluster.rejected"):
                wrong += 1
                failures.append(f"replica {k} seq {a['seq']}: acknowledged rejected, entry is {e['kind']}")

    by_origin = {}
    for e in first:
        by_origin[e["origin"]] = by_origin.get(e["origin"], 0) + 1
    for origin, calls in budgets.items():
        n = by_origin.get(origin, 0)
        if n > calls:
            failures.append(f"budget overshot: {n} entries from {origin}, its covenant allows {calls}")

    acked_ids = {a["id"] for a in acks if a["outcome"] == "appended"}
    print(f"checker: {len(replicas)} replicas of {sizes[0] if sizes else 0} entries; "
          f"{len(acks)} acknowledgements ({outcomes['appended']} appended, {outcomes['denied']} "
          f"denied, {outcomes['rejected']} rejected), {len(acked_ids)} distinct nodes; "
          f"lost {lost}, misplaced {wrong}; "
          + ", ".join(f"{o}: {by_origin.get(o, 0)} of {c} calls" for o, c in budgets.items()))
    if failures:
        for f in failures[:20]:
            print("checker: FAIL: " + f)
        if len(failures) > 20:
            print(f"checker: ... and {len(failures) - 20} more")
        return 1
    print("checker: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
