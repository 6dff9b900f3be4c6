"""The pytest plugin behind the resilience scenarios: stack, accounting window, gates, output.

Load it from a ``conftest.py`` with ``pytest_plugins = ["scenarios.plugin"]`` (the
bundled suite does; so does the project ``gameday init`` writes). It gives:

- ``reference_system``: one stack per pytest run (``gameday up --detach`` on free
  ports, with the private stack's short timeouts), stopped afterwards; or the stack
  already running in ``--gameday-state-dir`` when that is given.
- ``world``: each scenario's own accounting window (run folder, baseline, ledger),
  with every fault cleared on teardown, also when the scenario failed.
- Tags registered as markers (``--strict-markers`` stays on). ``@gameday``
  scenarios are long: they run when ``-m`` selects them (``-m "ci or gameday"``).
- A gate at collection: an undefined step, a scenario no test binds, two scenarios
  with one name in a feature, an unknown tag, or a ``-m`` that selects no scenario
  is an error naming the file and line, never a silent skip or a green run.
- Cucumber JSON and JUnit XML written into a run folder under the project's
  ``gameday-runs/`` (unless given on the command line), and its HTML report.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.measure import slo
from gameday.project import Project
from gameday.run import PRIVATE_STACK_ENV
from gameday.settings import ENV_STATE_DIR
from scenarios import gate
from scenarios.world import ReferenceSystem, World

pytest_plugins = [
    "scenarios.steps.system",
    "scenarios.steps.orders",
    "scenarios.steps.accounting",
    "scenarios.steps.faults",
    "scenarios.steps.traffic",
]

#: Every tag a feature may carry; an unknown one is a collection error naming its file.
TAGS = {
    "ci": "fast resilience scenarios run on every change (.ci/run)",
    "gameday": "longer scenarios: outages, recoveries, load",
    "happy_path": "orders flow and are applied exactly once",
    "poison": "poison payloads are quarantined",
    "slow_downstream": "a slow downstream opens the circuit; the backlog drains after",
    "random_failures": "transient downstream failures, retries and DLQ redrive",
    "duplicates": "duplicate submits are applied once",
    "spike": "a traffic spike is shed with 429 and latency held",
    "worker_crash": "a worker killed mid-batch loses nothing",
    "sqs_outage": "an unavailable queue is answered with 503, nothing acknowledged",
    "bad_input": "hostile requests get a 4xx JSON error and enqueue nothing",
    "guardrail": "a guardrail aborts an experiment and the rollbacks run",
    "fault_expiry": "a fault heals itself at its expiry",
}
RUN_DIR_KEY = pytest.StashKey[Path]()
DRAIN_BETWEEN_S = 60


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gameday", "gameday resilience scenarios")
    group.addoption(
        "--gameday-state-dir",
        help="run against the stack already running there (default: start one for this run)",
    )
    group.addoption(
        "--gameday-run-dir",
        help="run folder for cucumber.json, junit.xml and the report "
        "(default: gameday-runs/<time>-scenarios in the project)",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-bdd and junitxml read their options
def pytest_configure(config: pytest.Config) -> None:
    for tag, meaning in TAGS.items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    chosen = config.getoption("gameday_run_dir")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(chosen) if chosen else Project.current().runs_dir / f"{stamp}-scenarios"
    config.stash[RUN_DIR_KEY] = run_dir
    if not config.option.cucumber_json_path:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.option.cucumber_json_path = str(run_dir / "cucumber.json")
    if not config.option.xmlpath:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.option.xmlpath = str(run_dir / "junit.xml")


def pytest_sessionstart(session: pytest.Session) -> None:
    paths = [Path(arg.split("::")[0]) for arg in session.config.args]
    problems = gate.check_files(gate.feature_files(paths), set(TAGS))
    if problems:
        raise pytest.UsageError("the scenarios cannot run:\n  " + "\n  ".join(problems))


@pytest.hookimpl(tryfirst=True)  # before -m deselects: every scenario is checked
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    problems = gate.check_bindings(session, items)
    if any("::" in arg for arg in config.args) or config.option.keyword:
        problems = [p for p in problems if "is bound by no test" not in p]  # a chosen subset
    if problems:
        raise pytest.UsageError("the scenarios cannot run:\n  " + "\n  ".join(problems))
    if not config.option.markexpr:
        # The long scenarios run only when asked for by tag, like pytest's own "slow" recipe.
        long = [i for i in items if i.get_closest_marker("gameday") and gate.is_scenario(i)]
        if long:
            config.hook.pytest_deselected(items=long)
            items[:] = [i for i in items if i not in long]


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    markexpr = session.config.option.markexpr
    collected_scenarios = session.config.stash.get(gate.COLLECTED_KEY, 0)
    if markexpr and collected_scenarios and not any(gate.is_scenario(i) for i in session.items):
        raise pytest.UsageError(
            f"-m {markexpr!r} selects no scenario (tags: {', '.join(sorted(TAGS))})"
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    run_dir = session.config.stash.get(RUN_DIR_KEY, None)
    if run_dir is None or hasattr(session.config, "workerinput"):
        return
    session.config.add_cleanup(lambda: _render(run_dir))


def _render(run_dir: Path) -> None:
    """The run folder's HTML report, once pytest-bdd has written cucumber.json."""
    if not (run_dir / "cucumber.json").is_file():
        return
    from reports.render import render_run

    report = render_run(run_dir)
    print(f"\nscenario report: {report}", file=sys.stderr)


@pytest.fixture(scope="session")
def reference_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReferenceSystem]:
    """The stack under test: the one in --gameday-state-dir, or a private one for this run."""
    given = request.config.getoption("gameday_state_dir")
    if given:
        with httpx.Client(timeout=30) as http:
            yield ReferenceSystem(Path(given), _status(Path(given)), http)
        return
    state_dir = tmp_path_factory.mktemp("scenario-stack") / ".gameday"
    env = {**PRIVATE_STACK_ENV, "GAMEDAY_BACKEND_PORT": "0", "GAMEDAY_API_PORT": "0"}
    env["GAMEDAY_DOWNSTREAM_PORT"] = "0"
    started = _gameday("up", "--detach", state_dir=state_dir, extra_env=env, timeout=120)
    if started.returncode != 0:
        pytest.fail(f"the stack did not start: {started.stderr.strip()[-800:]}", pytrace=False)
    try:
        with httpx.Client(timeout=30) as http:
            yield ReferenceSystem(state_dir, _status(state_dir), http)
    finally:
        _gameday("down", state_dir=state_dir, timeout=90)


@pytest.fixture
def world(reference_system: ReferenceSystem, tmp_path: Path) -> Iterator[World]:
    """This scenario's accounting window; every fault is cleared afterwards, pass or fail."""
    from gameday.chaos.faults.actions import clear_faults
    from gameday.chaos.queue.actions import wait_for_drain

    run_dir = tmp_path / "run"
    catalogue = slo.load_catalogue()
    opened = World.open(reference_system, run_dir, catalogue)
    try:
        yield opened
    finally:
        if reference_system.fault_switched_on():
            clear_faults(reference_system.configuration(run_dir))
        # what this scenario left queued must not land in the next one's accounting window
        with contextlib.suppress(Exception):
            wait_for_drain(DRAIN_BETWEEN_S, configuration=reference_system.configuration(run_dir))


def _status(state_dir: Path) -> dict[str, Any]:
    shown = _gameday("status", "--json", state_dir=state_dir, timeout=60)
    if shown.returncode != 0:
        pytest.fail(
            f"no running stack in {state_dir}: start one with `gameday up --detach`",
            pytrace=False,
        )
    status: dict[str, Any] = json.loads(shown.stdout)
    return status


def _gameday(
    *args: str, state_dir: Path, timeout: float, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra_env or {}), ENV_STATE_DIR: str(state_dir)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "gameday", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
