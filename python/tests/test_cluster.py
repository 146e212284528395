"""The cluster from Python: a real nats-server (JetStream, one node, an R1 stream) and one real
`witness replica` process; witness.Cluster appends through the stream and gets each node back
once the replica applied and synced it, and asks for a cosigned checkpoint."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import witness

WITNESS = os.environ.get("WITNESS_BIN", "witness")
pytestmark = pytest.mark.skipif(shutil.which("nats-server") is None,
                                reason="nats-server is not installed (scripts/install-deps.sh)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def cluster(tmp_path):
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{tmp_path / "js"}" }}\n')
    nats = subprocess.Popen(["nats-server", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    procs = [nats]
    try:
        for _ in range(100):
            r = subprocess.run([WITNESS, "cluster", "init", "--nats", url, "--stream", "py",
                                "--replicas", "1"], capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        assert r.returncode == 0, r.stderr
        ledger = str(tmp_path / "r1")
        subprocess.run([WITNESS, "init", "--ledger", ledger], check=True, capture_output=True)
        key = str(tmp_path / "r1.pem")
        subprocess.run([WITNESS, "keygen", key], check=True, capture_output=True)
        replica = subprocess.Popen(
            [WITNESS, "replica", "--ledger", ledger, "--nats", url, "--stream", "py", "--name",
             "r1", "--key", key], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(replica)
        verifier = None
        while verifier is None:
            line = replica.stderr.readline()
            assert line, "the replica exited"
            if "cosigning checkpoints as " in line:
                verifier = line.split("cosigning checkpoints as ")[1].strip()
        yield url, ledger, verifier
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_append_through_the_stream_then_read_the_replica(cluster):
    url, ledger, verifier = cluster
    c = witness.Cluster(url, stream="py", quorum=1, timeout=20)
    a = witness.TraceNode(origin="agent.py", kind="agent.act", payload={"n": 1})
    b = witness.TraceNode(origin="agent.py", kind="agent.act", payload={"n": 2},
                          links=[("causes", a.id)])
    acks = c.append([a, b])
    assert [x["seq"] for x in acks] == [0, 1]
    assert [x["id"] for x in acks] == [a.id, b.id]
    assert all(x["outcome"] == "appended" for x in acks)
    # Again: JetStream drops the republished ids and answers with their first sequences.
    assert [x["seq"] for x in c.append([a])] == [0]
    # A node whose link resolves to nothing is recorded as rejected, and said so.
    orphan = witness.TraceNode(origin="agent.py", kind="agent.act", links=[("causes", "ab" * 32)])
    [r] = c.append([orphan])
    assert r["outcome"] == "rejected" and r["reason"] == "unresolved-link", r
    cp = c.checkpoint(quorum=1)
    assert cp["size"] == 3 and cp["signers"] == ["r1"] and cp["forks"] == []
    assert witness.verify_checkpoint_quorum(cp["note"], [verifier], 1)["size"] == 3
    assert witness.verify_checkpoint(cp["note"], verifier)["root"] == cp["root"]
    # The replica's ledger holds them, read as any ledger (read-only, beside its writer).
    out = subprocess.run([WITNESS, "query", "--ledger", ledger, "--json"], capture_output=True,
                         text=True, check=True)
    ids = [json.loads(line)["id"] for line in out.stdout.splitlines()]
    assert ids[:2] == [a.id, b.id] and len(ids) == 3


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError):
        witness.Cluster("nats://127.0.0.1:1", stream="bad name!", quorum=1)
    with pytest.raises(ValueError):
        witness.Cluster("nats://127.0.0.1:1", quorum=0)
