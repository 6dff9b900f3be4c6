"""`gameday verdict RUN_DIR` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.measure.ledger import reconcile
from gameday.measure.verdict import Measurements
from tests.conftest import run_gameday

pytestmark = pytest.mark.integration


def _run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    m = Measurements()
    m.count("ingest.requests", 10)
    m.count("ingest.non_5xx", 10)
    m.save(run_dir)
    (run_dir / "ledger.json").write_text(json.dumps(reconcile(["a"], {"a": 2}, {}).as_dict()))
    return run_dir


def test_verdict_prints_the_table_writes_verdict_json_and_exits_1(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    result = run_gameday("verdict", str(run_dir), state_dir=tmp_path / ".gameday")
    assert result.returncode == 1, result.stderr
    assert "zero-duplicated" in result.stdout and "BREACHED" in result.stdout
    assert "run verdict: BREACHED (exit 1)" in result.stdout
    saved = json.loads((run_dir / "verdict.json").read_text())
    assert saved["status"] == "breached" and saved["exit_code"] == 1


def test_a_bad_catalogue_is_one_line_and_exit_3(tmp_path: Path) -> None:
    bad = tmp_path / "slos.yaml"
    bad.write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: 3\n")
    result = run_gameday(
        "verdict", str(_run_dir(tmp_path)), "--catalogue", str(bad), state_dir=tmp_path / ".gameday"
    )
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert f"{bad}: document 1 (x): spec: must be dict" in result.stderr


def test_missing_evidence_exits_3_and_says_which(tmp_path: Path) -> None:
    run_dir = tmp_path / "empty-run"
    run_dir.mkdir()
    result = run_gameday("verdict", str(run_dir), state_dir=tmp_path / ".gameday")
    assert result.returncode == 3
    assert "missing evidence: measurements.json, ledger.json" in result.stdout
