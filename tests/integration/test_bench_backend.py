"""`gameday bench backend` runs end to end (tiny depths) and keeps its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_gameday

pytestmark = pytest.mark.integration


def test_bench_backend_measures_three_servers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_gameday(
        "bench",
        "backend",
        "--depths",
        "0,200",
        "--seconds",
        "0.3",
        "--json",
        str(out),
        state_dir=tmp_path / ".gameday",
        timeout=240,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "Targets" in result.stdout
    figures = json.loads(out.read_text())
    assert set(figures["servers"]) == {"stock moto", "fast path on werkzeug", "gameday backend"}
    for server in figures["servers"].values():
        for kind in ("send", "receive_delete", "attributes"):
            assert all(rate > 0 for rate in server[kind].values()), (kind, server[kind])
        assert server["dynamodb_put"]["0"] > 0
    assert {t["target"].split(":")[0] for t in figures["targets"]} == {
        "send",
        "receive_delete",
        "attributes",
        "send at depth 0",
    }


def test_bench_rejects_bad_depths(tmp_path: Path) -> None:
    result = run_gameday("bench", "backend", "--depths", "lots", state_dir=tmp_path / ".gameday")
    assert result.returncode == 3
    assert "--depths" in result.stderr
    assert "Traceback" not in result.stderr
