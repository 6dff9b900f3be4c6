"""`gameday regressions` on real stacks: the baseline passes, each broken variant is caught."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_gameday

#: CI's fast part of the table: idempotency, the rate limit, and the queue (a provisioning
#: change, not a patch). The cheapest rows of the full table (docs/regressions.md).
FAST_VARIANTS = ("api-idempotency-off", "rate-limiter-off", "no-redrive-policy")


def test_the_scenarios_catch_three_broken_variants(tmp_path: Path) -> None:
    run_dir = tmp_path / "regressions"
    done = run_gameday(
        "regressions",
        "--variant",
        ",".join(FAST_VARIANTS),
        "--run-dir",
        str(run_dir),
        state_dir=tmp_path / ".gameday",
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = json.loads((run_dir / "regressions.json").read_text())["rows"]
    assert [(r["variant"], r["outcome"]) for r in rows] == [
        ("baseline", "passed"),
        *[(name, "caught") for name in FAST_VARIANTS],
    ]
    for row in rows[1:]:
        assert "Then" in row["evidence"] or "And" in row["evidence"], row
        folder = run_dir / row["folder"]
        shown = json.loads((folder / "health-deep.json").read_text())
        assert shown["variant"]["name"] == row["variant"], shown  # /health/deep names it
        assert json.loads((folder / "variant.json").read_text())["name"] == row["variant"]
        assert "Broken variant" in (folder / "report.html").read_text()
    healthy = json.loads((run_dir / "baseline" / "health-deep.json").read_text())
    assert healthy["status"] and "variant" not in healthy, healthy
    table = (run_dir / "regressions.md").read_text()
    assert "3 of 3 variants caught; baseline passed" in table
    assert "| api-idempotency-off |" in table
