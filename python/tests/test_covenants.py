"""Covenants from Python: manifests, registration, the gate in front of appends, bypasses."""
import os
import pathlib
import subprocess
import threading

import pytest

import witness

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "agents"

TRIAGE = """\
id: agent.triage
version: "1"
description: test agent
capabilities: [ledger.append]
permissions:
  - permit ledger.append kind=agent.*
  - forbid ledger.append tag=pii
budgets: {calls: 5}
"""


@pytest.fixture
def path(tmp_path):
    p = str(tmp_path / "ledger")
    with witness.Ledger.open(p, create=True):
        pass
    return p


def kinds(led):
    """The kinds in seq order, without the gate's budget bookkeeping (lease, settle)."""
    return [n.kind for n in led.query() if n.kind not in ("covenant.lease", "covenant.settle")]


def test_parse_manifest_reads_fields_and_names_errors():
    m = witness.parse_manifest(TRIAGE)
    assert m["id"] == "agent.triage"
    assert m["capabilities"] == ["ledger.append"]
    assert m["permissions"] == ["permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"]
    assert m["budgets"] == {"calls": 5}
    with pytest.raises(ValueError, match=r"^line 1: capabilities: missing"):
        witness.parse_manifest("id: a\nversion: '1'\n")
    with pytest.raises(ValueError, match="invalid UTF-8"):
        witness.parse_manifest(b"id: a\nversion: '1'\ndescription: \xff\ncapabilities: [x]\n")


def test_ungated_until_a_covenant_exists_then_gated(path):
    with witness.Ledger.open(path) as led:
        led.append(origin="anyone", kind="note")  # no covenant yet: not gated
        reg = led.register_agent(TRIAGE)
        assert reg["covenant"] == "agent.triage@1" and reg["subject"] == "agent.triage"
        assert led.get(reg["seq"]).kind == "covenant.grant"
        ok = led.append(origin="agent.triage", kind="agent.action", payload={"n": 1})
        assert ok.seq > reg["seq"] and led.get(ok.seq) == ok
        with pytest.raises(witness.GateRefusedError, match="forbid ledger.append tag=pii"):
            led.append(origin="agent.triage", kind="agent.action", tags=["pii"])
        with pytest.raises(PermissionError, match="no covenant"):
            led.append(origin="anyone", kind="note", payload={"again": True})
        assert kinds(led)[-3:] == ["agent.action", "covenant.denial", "covenant.denial"]
        agents = led.agents
        assert [a["id"] for a in agents] == ["agent.triage@1"]
        assert agents[0]["in_force"] and not agents[0]["revoked"]
        assert agents[0]["budget"] == {"calls": 5}
        assert agents[0]["spent"]["calls"] == 1


def test_budget_holds_across_reopen_and_threads(path):
    with witness.Ledger.open(path) as led:
        led.register_agent(TRIAGE)
        for i in range(2):
            led.append(origin="agent.triage", kind="agent.action", payload={"i": i})
    # Reopened: two of five calls are gone; eight threads race for the other three.
    with witness.Ledger.open(path) as led:
        ok, refused = [], []
        lock = threading.Lock()

        def worker(t):
            for i in range(4):
                try:
                    n = led.append(origin="agent.triage", kind="agent.action",
                                   payload={"t": t, "i": i})
                    with lock:
                        ok.append(n.seq)
                except witness.GateRefusedError as e:
                    with lock:
                        refused.append(str(e))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(ok) == 3
        assert len(refused) == 29 and all("calls" in r for r in refused)
    with witness.Ledger.open(path, read_only=True) as led:
        actions = list(led.query(origin="agent.triage", kind="agent.action"))
        assert len(actions) == 5  # the budget, never more
        assert led.verify()["ok"]


def test_atomic_batch_with_a_refused_node_appends_nothing(path):
    a = witness.TraceNode(origin="agent.triage", kind="agent.action", payload={"n": 1})
    b = witness.TraceNode(origin="agent.triage", kind="agent.action", tags=["pii"])
    with witness.Ledger.open(path) as led:
        led.register_agent(TRIAGE)
        size = len(kinds(led))
        with pytest.raises(witness.GateRefusedError, match="pii"):
            led.append_batch([a, b])
        assert kinds(led)[size:] == ["covenant.denial"]  # only the denial was recorded
        [done] = led.append_batch([a])
        assert done.id == a.id and led.get(done.seq) == a


def test_gate_false_records_one_bypass(path):
    with witness.Ledger.open(path) as led:
        led.register_agent(TRIAGE)
    with witness.Ledger.open(path, gate=False, bypass_note="migration") as led:
        led.append(origin="anyone", kind="note", payload={"n": 1})
        led.append(origin="anyone", kind="note", payload={"n": 2})
        bypasses = list(led.query(kind="covenant.bypass"))
        assert len(bypasses) == 1
        assert bypasses[0].origin == "witness.gate"
        assert bypasses[0].payload["note"] == "migration"
        assert bypasses[0].payload["who"].startswith("python:")
        assert kinds(led)[-2:] == ["note", "note"]


def test_gate_false_records_nothing_for_input_the_ledger_refuses(path):
    # The same policy as `witness append --no-gate` (covenant::PolicyAppender): the bypass is
    # recorded right before the first write, never for input that writes nothing.
    with witness.Ledger.open(path, create=True, gate=False) as led:
        with pytest.raises(ValueError, match="reserved for witness"):
            led.append(origin="witness.covenant", kind="covenant.grant")
        assert kinds(led) == []
        led.append(origin="anyone", kind="note")
        assert kinds(led) == ["covenant.bypass", "note"]


def test_gate_true_denies_all_before_any_covenant(path):
    with witness.Ledger.open(path, gate=True) as led:
        with pytest.raises(witness.GateRefusedError, match="no covenant"):
            led.append(origin="anyone", kind="note")
        assert kinds(led) == ["covenant.denial"]


def test_register_from_path_and_revoke(path):
    with witness.Ledger.open(path) as led:
        reg = led.register_agent(EXAMPLES / "alert-triage.yaml", issuer="ops")
        assert reg["covenant"] == "alert.triage@1.2.0"
        assert led.agents[0]["issuer"] == "ops"
        led.append(origin="alert.triage", kind="agent.action")
        seq = led.revoke_agent("alert.triage@1.2.0", "retired")
        assert led.get(seq).kind == "covenant.revoke"
        assert led.agents[0]["revoked"]
        with pytest.raises(witness.GateRefusedError):
            led.append(origin="alert.triage", kind="agent.action", payload={"after": True})
        with pytest.raises(KeyError, match="nope"):
            led.revoke_agent("nope")
        with pytest.raises(ValueError, match="cannot open"):
            led.register_agent(pathlib.Path("/nonexistent/agent.yaml"))


def test_python_and_cli_share_the_gate(path):
    binary = os.environ["WITNESS_BIN"]
    with witness.Ledger.open(path) as led:
        led.register_agent(TRIAGE)
    line = '{"origin":"agent.triage","kind":"agent.action","tags":["pii"],"timestamp":1}\n'
    out = subprocess.run([binary, "append", "--ledger", path, "-"], input=line, text=True,
                         capture_output=True)
    assert out.returncode == 1
    assert "forbid ledger.append tag=pii" in out.stderr
    with witness.Ledger.open(path, read_only=True) as led:
        assert kinds(led)[-1] == "covenant.denial"


@pytest.mark.parametrize("gate", [None, False])
@pytest.mark.parametrize("origin", ["witness.covenant", "Witness.gate", "WITNESS.covenant"])
def test_covenant_records_cannot_be_forged_from_python(path, gate, origin):
    # A forged grant on a new ledger would register an agent with no limits; a forged settle on
    # a gated ledger opened with gate=False would hand back spent budget. Both are refused by the
    # ledger itself, whatever the gate setting.
    with witness.Ledger.open(path, gate=gate, bypass_note="forgery test") as led:
        for kind in ("covenant.grant", "covenant.settle", "covenant.denial"):
            with pytest.raises(ValueError, match="is reserved for witness's own records"):
                led.append(origin=origin, kind=kind, payload={"id": "evil", "budgets": {}})
            with pytest.raises(ValueError, match="reserved"):
                led.append_batch([witness.TraceNode(origin="agent.ok", kind="agent.action"),
                                  witness.TraceNode(origin=origin, kind=kind)])
        assert not [n for n in led.query() if n.kind in ("covenant.grant", "covenant.settle")]
        assert [a for a in led.agents] == []


def test_gate_false_is_recorded_even_before_any_covenant(path):
    # As `witness append --no-gate`: an explicit request to skip the gate is always audited.
    with witness.Ledger.open(path, gate=False, bypass_note="bootstrap") as led:
        led.append(origin="agent.x", kind="agent.action")
        led.append(origin="agent.x", kind="agent.action", payload={"n": 2})
        bypasses = list(led.query(kind="covenant.bypass"))
        assert len(bypasses) == 1 and bypasses[0].payload["note"] == "bootstrap"
        assert bypasses[0].seq == 0
