#!/usr/bin/env python3
"""The detector's figures (docs/detector.md), measured the way DETECTOR-EVAL asks.

usage: detector-eval.py WITNESS [--seeds 1,2,3] [--scenarios a,b] [--speed]

For every scenario and seed: `witness gen-traffic` then `witness detect --json` (the CLI users
run), and per scenario the mean over the seeds of
  - recall on attack records (flagged: anomalous, or matching an open alert's signature),
  - the false-positive rate on normal records outside the attack phase, inside it, and over
    all of them after the scenario's warm-up phase (the target's measure),
  - false alerts (alerts that do not overlap the attack) per hour of traffic,
  - the detection latency (first alert over the attack minus the attack's first record),
  - whether that alert's explanation names the attacking field,
and beside it two simple baselines written here from their textbook definitions, over the same
records: a heavy-hitter rate detector (per 1 s window, records per destination address; a
window's records to a destination are flagged when its count passes 4x its running mean and
36) and a per-field entropy detector (per 1 s window, the entropy of dst_port and of src_ip;
a window is flagged when either is more than 4 standard deviations from its running mean).
Both learn over the same warm-up (the first 100 s, or 300 records for the uniform timeline).

--speed also times `witness detect --no-record` over the day scenario (three runs, best) and
prints records/s with the CPU model.
"""
import argparse
import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import time

# What each scenario's explanation must name: (field, value prefix) pairs, any of which will do.
ATTACKER = {
    "web-flood": [("server", "10.30.0.13"), ("service", "tcp/80")],
    "port-scan": [("client", "10.20.")],
    "dns-tunnel": [("client", "10.20."), ("service×size", "udp/53")],
    "slowloris": [("client", "10.20."), ("server", "10.30.0.13")],
    "carpet-bomb": [("client", "10.30.")],
    "challenge": [("client", "10.1.0.5"), ("server", "10.1.0.5")],
}
UNIFORM = {"challenge", "icmp-flood", "ramp", "low-and-slow", "mixed", "pattern-only"}


def baselines(lines, warm_s, warm_records):
    """Recall and FPR of the two baselines over labelled JSON lines."""
    recs = [json.loads(x) for x in lines]
    t0 = recs[0]["ts"]
    windows = collections.defaultdict(list)
    for i, r in enumerate(recs):
        windows[int((r["ts"] - t0) // 1_000_000_000)].append(i)
    hh_flag = [False] * len(recs)
    en_flag = [False] * len(recs)
    mean = {}  # destination -> running mean count per window
    ent_stats = {"dst_port": [0.0, 0.0, 0], "src_ip": [0.0, 0.0, 0]}  # sum, sumsq, n
    warm_end = None
    for w in sorted(windows):
        idx = windows[w]
        warm = (w < warm_s) if warm_records is None else (idx[0] < warm_records)
        counts = collections.Counter(recs[i].get("dst_ip") for i in idx)
        hot = set()
        for dst, c in counts.items():
            m = mean.get(dst, 0.0)
            if not warm and c > max(4 * m, 36):
                hot.add(dst)
            mean[dst] = m + (c - m) / 60.0 if dst in mean else float(c)
        for i in idx:
            if recs[i].get("dst_ip") in hot:
                hh_flag[i] = True
        for dst in mean:
            if dst not in counts:
                mean[dst] *= 1 - 1 / 60.0
        alarm = False
        for field, st in ent_stats.items():
            cnt = collections.Counter(recs[i].get(field) for i in idx)
            n = sum(cnt.values())
            h = -sum(c / n * math.log2(c / n) for c in cnt.values())
            s, sq, k = st
            if not warm and k >= 5:
                mu = s / k
                sd = math.sqrt(max(sq / k - mu * mu, 1e-6))
                if abs(h - mu) > 4 * sd:
                    alarm = True
                    continue
            st[0] += h
            st[1] += h * h
            st[2] += 1
        if alarm:
            for i in idx:
                en_flag[i] = True
        if not warm and warm_end is None:
            warm_end = idx[0]
    out = {}
    for name, flags in (("heavy-hitter", hh_flag), ("entropy", en_flag)):
        a = n = tp = fp = 0
        for i, r in enumerate(recs):
            if warm_end is None or i < warm_end:
                continue
            if r["label"]["attack"]:
                a += 1
                tp += flags[i]
            else:
                n += 1
                fp += flags[i]
        out[name] = (tp / a if a else None, fp / n if n else None)
    return out


def run(witness, scenario, seed, work, base):
    path = os.path.join(work, f"{scenario}-{seed}.jsonl")
    subprocess.run([witness, "gen-traffic", "--scenario", scenario, "--seed", str(seed), "--out",
                    path], check=True)
    args = [witness, "detect", "--no-record", "--json", path]
    if scenario in UNIFORM:
        args[3:3] = ["--warmup-seconds", "0"]
    r = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    lines = open(path).read().splitlines()
    recs = [json.loads(x) for x in lines]
    attack_ts = [x["ts"] for x in recs if x["label"]["attack"]]
    duration_h = (recs[-1]["ts"] - recs[0]["ts"]) / 3.6e12
    attack_phases = {x["label"]["phase"] for x in recs if x["label"]["attack"]}
    inside = [p for p in r["phases"] if p["phase"] in attack_phases]
    outside = [p for p in r["phases"] if p["phase"] not in attack_phases]

    def fpr(ps):
        n = sum(p["normal"] for p in ps)
        return sum(p["false_positives"] for p in ps) / n if n else None

    scored = [p for p in r["phases"] if p["phase"] != "warm-up"]
    res = {"recall": r["recall"], "fpr_out": fpr(outside), "fpr_in": fpr(inside),
           "fpr_all": fpr(scored),
           "false_alerts_h": None, "latency": None, "named": None}
    if attack_ts:
        a0, a1 = attack_ts[0], attack_ts[-1]
        over = [a for a in r["alerts"] if int(a["onset_ts"]) <= a1 and int(a["offset_ts"]) >= a0]
        false = [a for a in r["alerts"] if a not in over]
        res["false_alerts_h"] = len(false) / duration_h
        if over:
            res["latency"] = max(0.0, (int(over[0]["onset_ts"]) - a0) / 1e9)
            want = ATTACKER.get(scenario)
            if want:
                res["named"] = any(e["field"] == f and e["value"].startswith(v)
                                   for e in over[0]["explanation"] for f, v in want)
    else:
        res["false_alerts_h"] = len(r["alerts"]) / duration_h
    if base:
        res["baselines"] = baselines(lines, 100, 300 if scenario in UNIFORM else None)
    os.remove(path)
    return res


def pct(x):
    return "-" if x is None else f"{100 * x:.2f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("witness")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--scenarios", default="web-flood,port-scan,dns-tunnel,slowloris,carpet-bomb,"
                    "drift,day,challenge,icmp-flood,ramp,low-and-slow,mixed,pattern-only")
    ap.add_argument("--baselines", action="store_true", help="also run the two baselines")
    ap.add_argument("--speed", action="store_true")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"| scenario | recall | FPR outside | FPR inside | FPR all | false alerts/h | latency s | "
          f"names attacker |" +
          (" heavy-hitter recall/FPR | entropy recall/FPR |" if a.baselines else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|---|" if a.baselines else ""))
    with tempfile.TemporaryDirectory() as work:
        for sc in a.scenarios.split(","):
            rs = [run(a.witness, sc, s, work, a.baselines) for s in seeds]

            def mean(k):
                v = [r[k] for r in rs if r[k] is not None]
                return sum(v) / len(v) if v else None
            named = [r["named"] for r in rs if r["named"] is not None]
            lat = mean("latency")
            row = (f"| {sc} | {pct(mean('recall'))} | {pct(mean('fpr_out'))} | "
                   f"{pct(mean('fpr_in'))} | {pct(mean('fpr_all'))} | "
                   f"{mean('false_alerts_h'):.1f} | "
                   f"{'-' if lat is None else f'{lat:.2f}'} | "
                   f"{'-' if not named else f'{sum(named)}/{len(named)}'} |")
            if a.baselines:
                for b in ("heavy-hitter", "entropy"):
                    rec = [r["baselines"][b][0] for r in rs if r["baselines"][b][0] is not None]
                    fp = [r["baselines"][b][1] for r in rs if r["baselines"][b][1] is not None]
                    row += (f" {pct(sum(rec) / len(rec)) if rec else '-'} / "
                            f"{pct(sum(fp) / len(fp)) if fp else '-'} |")
            print(row, flush=True)
        if a.speed:
            path = os.path.join(work, "day.jsonl")
            subprocess.run([a.witness, "gen-traffic", "--scenario", "day", "--out", path],
                           check=True)
            n = sum(1 for _ in open(path))
            best = min(timed(a.witness, path) for _ in range(3))
            cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                        if ln.startswith("model name")), "unknown CPU")
            print(f"\nspeed: {n} records in {best:.3f} s = {n / best / 1e6:.3f} M records/s end to "
                  f"end (witness detect --no-record, JSON Lines from a file), one core of {cpu}")
    return 0


def timed(witness, path):
    t = time.perf_counter()
    subprocess.run([witness, "detect", "--no-record", path], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
