"""The project folder as a user meets it: `gameday init`, overrides, and bad input.

Each test runs the real `gameday` command from a folder of its own, outside the
checkout; none starts a stack (the wheel smoke test in .ci/run does that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gameday.project import bundled_catalogue, bundled_experiments

pytestmark = pytest.mark.integration


def gameday(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GAMEDAY_STATE_DIR": str(cwd / ".gameday")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_init_writes_a_starter_project_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    made = gameday("init", "my-gameday", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "my-gameday"
    experiments = sorted(p.name for p in (project / "experiments").glob("*.yaml"))
    assert experiments == sorted(p.name for p in bundled_experiments().glob("*.yaml"))
    for name in ("slos.yaml", "profiles.yaml", "README.md", "ci/gameday.yml", "conftest.py"):
        assert (project / name).is_file(), name
    assert list((project / "scenarios" / "features").glob("*.feature"))
    assert "gameday run" in (project / "ci" / "gameday.yml").read_text()
    again = one_line_error(gameday("init", "my-gameday", cwd=tmp_path))
    assert "is not empty" in again and "--force" in again
    forced = gameday("init", "my-gameday", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr


def test_a_project_file_overrides_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "experiments").mkdir()
    mine = tmp_path / "experiments" / "poison-payloads.yaml"
    mine.write_text((bundled_experiments() / "poison-payloads.yaml").read_text())
    (tmp_path / "slos.yaml").write_text(bundled_catalogue().read_text())
    shown = gameday("status", "--json", cwd=tmp_path)  # no stack: it still names the files
    files = json.loads(shown.stdout)["files"]
    assert files["project"] == str(tmp_path)
    assert files["experiments"]["poison-payloads"] == str(mine)
    assert files["experiments"]["traffic-spike"].startswith(str(bundled_experiments()))
    assert files["catalogue"] == str(tmp_path / "slos.yaml")
    assert files["runs"] == str(tmp_path / "gameday-runs")


def test_a_broken_project_catalogue_is_named_before_any_stack_starts(tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all(bundled_catalogue().read_text()))
    documents[0]["spec"]["objectives"][0]["target"] = 1.5  # OpenSLO targets are below 1
    (tmp_path / "slos.yaml").write_text(yaml.safe_dump_all(documents))
    line = one_line_error(gameday("run", "poison-payloads", cwd=tmp_path))
    assert str(tmp_path / "slos.yaml") in line and "target" in line
    assert not (tmp_path / "gameday-runs").exists(), "a run began with a broken catalogue"


def test_a_project_folder_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(gameday("--project", str(tmp_path / "nope"), "status", cwd=tmp_path))
    assert "does not exist" in line and "gameday init" in line


def test_an_unknown_experiment_names_the_known_ones(tmp_path: Path) -> None:
    line = one_line_error(gameday("run", "no-such-story", cwd=tmp_path))
    assert "no experiment 'no-such-story'" in line and "poison-payloads" in line


def test_report_of_a_folder_that_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    line = one_line_error(gameday("report", str(tmp_path / "empty"), cwd=tmp_path))
    assert "is not a run folder" in line
