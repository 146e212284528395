"""The detector from Python: same verdicts and alerts as `witness detect`."""
import json
import os
import subprocess

import pytest

import witness


def test_challenge_meets_the_targets():
    # The challenge is a record-count timeline: a 300-record warm-up, not seconds.
    d = witness.Detector(warmup=300, alpha=0.01, warmup_s=0)
    tp = fp = attack = normal = 0
    alerts = []
    for line in witness.gen_traffic("challenge", seed=1):
        v = d.observe(line)
        if v["warming_up"]:
            continue
        truth = json.loads(line)["label"]["attack"]
        attack += truth
        normal += not truth
        tp += truth and v["flagged"]
        fp += (not truth) and v["flagged"]
        alerts += d.take_alerts()
    alerts += d.finish()
    assert tp / attack >= 0.998
    assert fp / normal <= 0.04
    assert len(alerts) >= 1
    # The DNS flood's victim, by contrast with the baseline.
    assert any(e["field"] == "client" and e["value"] == "10.1.0.5" for e in alerts[0]["explanation"])


def test_a_scan_from_a_familiar_address_is_named():
    d = witness.Detector()
    alerts = []
    for line in witness.gen_traffic("port-scan", seed=3):
        d.observe(line)
        alerts += d.take_alerts()
    alerts += d.finish()
    scan = [a for a in alerts if any(e["field"] == "client" for e in a["explanation"])]
    assert scan
    assert d.familiarity("service", "tcp/443") == 1.0
    assert d.familiarity("service", "tcp/3389") == 0.0


def test_same_alerts_as_the_command_line(tmp_path):
    lines = witness.gen_traffic("challenge", seed=4)
    d = witness.Detector(warmup_s=0)
    for line in lines:
        d.observe(line)
    ours = d.take_alerts() + d.finish()
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = subprocess.run([os.environ["WITNESS_BIN"], "detect", "--no-record", "--json",
                          "--warmup-seconds", "0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    theirs = json.loads(out)["alerts"]
    assert len(ours) == len(theirs) >= 1
    for a, b in zip(ours, theirs):
        b = {k: v for k, v in b.items() if k != "phases"}
        assert a == b


def test_records_as_dicts_and_bad_input():
    d = witness.Detector({"warmup": 2, "alpha": 0.5, "warmup_s": 0})
    assert d.config["warmup"] == 2
    assert d.observe({"ts": 1, "a": "x"})["warming_up"]
    d.observe({"ts": 2, "a": "x"})
    v = d.observe({"ts": 3, "a": "never.seen"})
    assert v["novelty"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="time field"):
        d.observe({"a": "x"})
    with pytest.raises(ValueError, match="alpha"):
        witness.Detector(alpha=0.0001)
    with pytest.raises(ValueError, match="scenario"):
        witness.gen_traffic("nope")
    assert d.records == 3


def test_feed_is_observe():
    a = witness.Detector(warmup=10, alpha=0.2, seed=3, warmup_s=0)
    b = witness.Detector(warmup=10, alpha=0.2, seed=3, warmup_s=0)
    for line in witness.gen_traffic("challenge", seed=2)[:40]:
        assert a.feed(line) == b.observe(line)


def test_record_and_rerun_a_detector_run(tmp_path):
    packets = witness.gen_traffic("challenge", seed=1)[:3000]
    path = str(tmp_path / "ledger")
    with witness.Ledger.open(path, create=True) as led:
        run = led.record_detector_run(packets, config={"warmup": 300, "seed": 5},
                                      record_inputs=True)
        assert run["records"] == 3000 and len(run["run"]) == 64
        node = led.get(run["seq"])
        assert node.kind == "detector.run" and node.origin == "witness.detector"
        assert node.payload["input_sha256"] == run["input_sha256"]
        assert len(list(led.query(kind="detector.input", walk=run["walk"]))) == 3000
        assert [led.get(s).payload["alert"] for s in run["alert_seqs"]] == run["alerts"]
        report = led.rerun_detector(run["run"])
        assert report["identical"] and report["inputs_match"] and report["diffs"] == []
        assert report["recorded_alerts"] == report["rerun_alerts"] == len(run["alerts"])
        # Without recorded inputs a run cannot be re-executed, and says so.
        bare = led.record_detector_run(packets[:400], config={"warmup": 300})
        with pytest.raises(RuntimeError, match="did not record its inputs"):
            led.rerun_detector(bare["run"])
        with pytest.raises(ValueError, match="not a detector.run"):
            led.rerun_detector(led.get(run["seq"] + 1).id)  # a detector.input
        before = len(led)
        with pytest.raises(ValueError, match="line 2"):
            led.record_detector_run([packets[0], "{not json"])
        assert len(led) == before  # a bad record writes nothing
    # The CLI re-executes what Python recorded, and agrees.
    out = subprocess.run([os.environ["WITNESS_BIN"], "replay", "--ledger", path, "--rerun",
                          run["run"]], capture_output=True, text=True)
    assert out.returncode == 0 and "identical" in out.stdout


def test_captures_read_as_records(tmp_path):
    # A pcap written by hand (the classic format: 24-byte header, 16-byte record headers).
    import struct
    frame = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0,
                                              10, 0, 0, 1, 10, 0, 0, 2]) + \
        struct.pack(">HH", 40000, 443) + bytes(8) + bytes([0x50, 0x02]) + bytes(6)
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    pcap += struct.pack("<IIII", 1800000000, 5, len(frame), len(frame)) + frame
    path = tmp_path / "one.pcap"
    path.write_bytes(pcap)
    lines = witness.read_capture(str(path))
    assert [json.loads(x) for x in lines] == [{
        "ts": 1800000000000005000, "proto": "tcp", "src_ip": "10.0.0.1", "dst_ip": "10.0.0.2",
        "src_port": 40000, "dst_port": 443, "flags": "S", "size": 40, "ttl": 64}]
    truth = [{"phase": "p", "start_ns": 0, "end_ns": 2 * 10**18, "hosts": ["10.0.0.1"]}]
    labelled = json.loads(witness.read_capture(str(path), truth=truth)[0])
    assert labelled["label"] == {"phase": "p", "attack": True}
    flows = [json.loads(x) for x in witness.read_capture(str(path), flows=True)]
    assert flows[0]["packets"] == 1 and flows[0]["dst_port"] == 443
    with pytest.raises(KeyError, match="capture"):
        witness.read_capture(str(tmp_path / "missing.pcap"))
    (tmp_path / "junk.pcap").write_text("not a capture")
    with pytest.raises(ValueError, match="capture"):
        witness.read_capture(str(tmp_path / "junk.pcap"))
