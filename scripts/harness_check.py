#!/usr/bin/env python3
"""Checks a detector run over a loopback-harness capture against issue 17's targets.

usage: harness_check.py WITNESS CAPTURE TRUTH [WARMUP_SECONDS]

Runs `witness detect --pcap CAPTURE --truth TRUTH --json`, prints a table per phase and fails
(exit 1) unless: every attack phase has recall >= 95%; the false-positive rate over all normal
records is <= 2%; every attack window is overlapped by an alert whose explanation names one of
the window's attacking hosts (as client or server).
"""
import json
import subprocess
import sys


def main():
    witness, capture, truth_path = sys.argv[1:4]
    warmup = sys.argv[4] if len(sys.argv) > 4 else "20"
    out = subprocess.run([witness, "detect", "--pcap", capture, "--truth", truth_path, "--json",
                          "--no-record", "--warmup-seconds", warmup],
                         check=True, capture_output=True, text=True).stdout
    run = json.loads(out)
    truth = json.load(open(truth_path))
    failures = []
    print(f"{'phase':<12} {'records':>8} {'attack':>7} {'normal':>7} {'recall':>8} {'FPR':>8}")
    for p in run["phases"]:
        recall = "-" if p["recall"] is None else f"{100 * p['recall']:.2f}%"
        fpr = "-" if p["false_positive_rate"] is None else f"{100 * p['false_positive_rate']:.2f}%"
        print(f"{p['phase']:<12} {p['records']:>8} {p['attack']:>7} {p['normal']:>7} {recall:>8} {fpr:>8}")
        if p["attack"] > 0 and p["recall"] < 0.95:
            failures.append(f"{p['phase']}: recall {p['recall']:.4f} < 0.95")
    fpr = run["false_positive_rate"]
    print(f"all: recall {run['recall']}, false-positive rate {fpr}, {len(run['alerts'])} alert(s)")
    if fpr is None or fpr > 0.02:
        failures.append(f"false-positive rate {fpr} > 0.02")
    for w in truth:
        start, end = int(w["start_ns"]), int(w["end_ns"])
        named = [a for a in run["alerts"]
                 if int(a["onset_ts"]) <= end and int(a["offset_ts"]) >= start
                 and any(e["field"] in ("client", "server") and e["value"] in w["hosts"]
                         for e in a["explanation"])]
        if not named:
            failures.append(f"{w['phase']}: no alert over its window names one of {w['hosts']}")
        else:
            a = named[0]
            lag = (int(a["onset_ts"]) - start) / 1e9
            print(f"{w['phase']}: alert at +{lag:.2f} s, explanation: " +
                  ", ".join(f"{e['field']}={e['value']}" for e in a["explanation"][:3]))
    for f in failures:
        print("harness-check: FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
