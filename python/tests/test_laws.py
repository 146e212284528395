"""witness.check_laws: the operad law engine of `witness laws`, from Python."""
import pytest

import witness


def test_check_laws_runs_a_suite_and_reports_each_law():
    verdicts = witness.check_laws(suite="covenant-meet", cases=30, seed=7)
    assert len(verdicts) >= 3
    assert {v["suite"] for v in verdicts} == {"covenant-meet"}
    assert all(v["result"] == "passed" and v["cases"] == 30 for v in verdicts)
    assert all(v["seed"] == "7" for v in verdicts)
    assert "left-identity" in {v["law"] for v in verdicts}
    # The same seed gives the same verdicts: a run is reproducible.
    assert witness.check_laws(suite=["covenant-meet"], cases=30, seed=7) == verdicts


def test_check_laws_records_verdicts_in_a_ledger(tmp_path):
    path = str(tmp_path / "ledger")
    with witness.Ledger.open(path, create=True):
        pass
    verdicts = witness.check_laws(suite="covenant-meet", law="left-identity", cases=10,
                                  ledger=path)
    assert len(verdicts) == 1
    with witness.Ledger.open(path, read_only=True) as led:
        [node] = list(led.query(kind="law.verdict"))
        assert node.payload["law"] == "left-identity" and node.payload["result"] == "passed"


def test_check_laws_names_a_bad_suite():
    with pytest.raises(ValueError, match="no-such-suite"):
        witness.check_laws(suite="no-such-suite")
    with pytest.raises(ValueError, match="no witness binary"):
        witness.check_laws(suite="covenant-meet", binary="/nonexistent/witness")
