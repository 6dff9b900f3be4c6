"""`gameday bench load` runs end to end (one short round) and prints every figure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_gameday

pytestmark = pytest.mark.integration


def test_bench_load_compares_machinery_and_keeps_the_schedule(tmp_path: Path) -> None:
    result = run_gameday(
        "bench",
        "load",
        *("--rounds", "1", "--seconds", "2", "--rate", "200", "--delay-ms", "500"),
        state_dir=tmp_path / ".gameday",
        timeout=240,
    )
    assert result.returncode in (0, 1), result.stderr
    ratio = re.search(r"ours/bare: (\d+)%", result.stdout)
    assert ratio and int(ratio.group(1)) > 0, result.stdout
    # healthy: every arrival started, at the intended rate
    assert "healthy: 400 of 400 started" in result.stdout, result.stdout
    # slowed past the cap (50 in flight, 500 ms answers: 100/s at most): arrivals were
    # dropped and counted, and every one is either started or dropped
    slowed = re.search(r"intended (\d+) = started (\d+) \+ dropped (\d+) \(kept\)", result.stdout)
    assert slowed, result.stdout
    intended, started, dropped = map(int, slowed.groups())
    assert intended == 400 and dropped > 0 and started + dropped == intended
