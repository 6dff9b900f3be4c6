"""The broken variants: refused unless named twice, each still fits the system, judged honestly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gameday import regressions, variants
from gameday.errors import HarnessError
from gameday.regressions import CAUGHT, ERROR, FAILED, PASSED, SURVIVED, Row, judge
from gameday.variants import sabotage

REPO = Path(__file__).resolve().parents[2]


def test_a_variant_is_refused_unless_its_name_is_repeated() -> None:
    with pytest.raises(HarnessError) as refused:
        variants.confirmed("no-redrive-policy", None)
    assert "deliberately broken" in refused.value.message
    assert "--i-know-it-is-broken no-redrive-policy" in refused.value.hint
    with pytest.raises(HarnessError):
        variants.confirmed("no-redrive-policy", "rate-limiter-off")
    assert variants.confirmed("no-redrive-policy", "no-redrive-policy") is not None
    assert variants.confirmed(None, None) is None


def test_an_unknown_variant_names_the_known_ones() -> None:
    with pytest.raises(HarnessError) as refused:
        variants.named("chaos-monkey")
    assert "circuit-never-opens" in refused.value.hint


def test_every_variant_is_injected_somehow_and_names_a_catcher() -> None:
    for variant in variants.CATALOGUE:
        assert variant.catchers, variant.name
        assert variant.name in sabotage.PATCHES or variant.provision, variant.name
        if variant.name in sabotage.PATCHES:
            assert variant.parts, f"{variant.name} patches no process"


def test_every_patch_still_finds_what_it_replaces() -> None:
    # In a child: the patches change the system's modules for good.
    code = "from gameday.variants import sabotage\nfor patch in sabotage.PATCHES.values(): patch()"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_catcher_is_a_scenario_of_the_bundled_suite() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-qm", "ci or gameday", "scenarios"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    names = {line.split("::")[-1] for line in listed.stdout.splitlines() if "::" in line}
    assert names, listed.stdout + listed.stderr
    for variant in variants.CATALOGUE:
        missing = [c for c in variant.catchers if c not in names]
        assert not missing, f"{variant.name}: no scenario {missing}"


def _failure(step_type: str, exception: str = "AssertionError") -> dict[str, str]:
    return {
        "scenario": "The downstream fails every call",
        "step": "Then the downstream circuit opens within 10 seconds",
        "type": step_type,
        "exception": exception,
        "message": "not within 10 s: the circuit open",
    }


def test_only_a_failed_then_assertion_is_a_catch(tmp_path: Path) -> None:
    log = tmp_path / "pytest.log"
    log.write_text("ERROR collecting scenarios\n1 error\n")
    assert judge(True, 1, [_failure("then")], log)[0] == CAUGHT
    assert "circuit opens within 10 seconds" in judge(True, 1, [_failure("then")], log)[1]
    assert judge(True, 1, [_failure("when")], log)[0] == ERROR
    assert judge(True, 1, [_failure("then", "ActivityFailed")], log)[0] == ERROR
    collection_error = "pytest exited 2: ERROR collecting scenarios / 1 error"
    assert judge(True, 2, [], log) == (ERROR, collection_error)

    assert judge(True, 0, [], log)[0] == SURVIVED
    assert judge(False, 0, [], log)[0] == PASSED
    assert judge(False, 1, [_failure("then")], log)[0] == FAILED


def _row(name: str, outcome: str) -> Row:
    return Row(name, "defect | with a pipe", ["test_x"], outcome, "line\nbreak", 1.0, name)


def test_a_survivor_or_an_error_fails_the_command() -> None:
    caught = [_row("baseline", PASSED), _row("a", CAUGHT), _row("b", CAUGHT)]
    assert regressions.all_caught(caught, 2)
    assert not regressions.all_caught([*caught[:2], _row("b", SURVIVED)], 2)
    assert not regressions.all_caught([*caught[:2], _row("b", ERROR)], 2)
    assert not regressions.all_caught(caught[:2], 2)  # a variant that never ran
    assert not regressions.all_caught([_row("baseline", FAILED)], 2)


def test_the_markdown_table_keeps_one_row_per_line() -> None:
    table = regressions.markdown([_row("baseline", PASSED), _row("a", CAUGHT)], 90)
    lines = table.splitlines()
    assert lines[2].count(" | ") == 5 and "defect \\| with a pipe" in lines[2]
    assert "line break" in lines[3]
    assert lines[-1] == "1 of 1 variants caught; baseline passed; wall time 1.5 min"


def test_gameday_up_refuses_a_variant_named_once(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "gameday", "up", "--variant", "rate-limiter-off"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "GAMEDAY_STATE_DIR": str(tmp_path / ".gameday")},
        timeout=60,
    )
    assert refused.returncode == 3, refused.stderr
    assert "--i-know-it-is-broken rate-limiter-off" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / ".gameday").exists(), "a refused variant started something"
