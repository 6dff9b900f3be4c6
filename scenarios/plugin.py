"""The pytest plugin behind the resilience scenarios: stack, accounting window, gates, output.

Load it from a ``conftest.py`` with ``pytest_plugins = ["scenarios.plugin"]`` (the
bundled suite does; so does the project ``gameday init`` writes). It gives:

- ``reference_system``: one stack per pytest run (``gameday up --detach`` on free
  ports, with the private stack's short timeouts), stopped afterwards; or the stack
  already running in ``--gameday-state-dir`` when that is given.
- ``world``: each scenario's own accounting window (run folder, baseline, ledger),
  with every fault cleared on teardown, also when the scenario failed.
- Tags registered as markers (``--strict-markers`` stays on). ``@gameday``
  scenarios are long: they run when ``-m`` names them (``-m "ci or gameday"``) or
  when they are named by node id.
- A gate at collection: an undefined step, a scenario no test binds, two scenarios
  with one name in a feature, an unknown tag, or a ``-m`` that selects no scenario
  is an error naming the file and line, never a silent skip or a green run.
- Cucumber JSON and JUnit XML written into a run folder under the project's
  ``gameday-runs/`` (unless given on the command line), and its HTML report.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday import variants
from gameday.errors import HarnessError
from gameday.measure import slo
from gameday.project import run_folder
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
    "scenarios.steps.queue",
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
    "process_crash": "the API and the downstream killed under traffic lose nothing",
    "sqs_outage": "an unavailable queue is answered with 503, nothing acknowledged",
    "bad_input": "hostile requests get a 4xx JSON error and enqueue nothing",
    "guardrail": "a guardrail aborts an experiment and the rollbacks run",
    "fault_expiry": "a fault heals itself at its expiry",
    "downstream_outage": "a failing downstream opens the circuit; retries back off",
}
RUN_DIR_KEY = pytest.StashKey[Path]()
CHECKED_KEY = pytest.StashKey[set[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gameday", "gameday resilience scenarios")
    group.addoption(
        "--gameday-state-dir",
        help="run against the stack already running there (default: start one for this run)",
    )
    group.addoption(
        "--shuffle-scenarios",
        metavar="SEED",
        type=int,
        help="run the scenarios in a shuffled order (the seed makes it repeatable): "
        "they must not depend on each other",
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
    try:
        run_dir = run_folder(chosen, "scenarios")
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[RUN_DIR_KEY] = run_dir
    if not config.option.cucumber_json_path:
        config.option.cucumber_json_path = str(run_dir / "cucumber.json")
    if not config.option.xmlpath:
        config.option.xmlpath = str(run_dir / "junit.xml")


def known_tags(config: pytest.Config) -> set[str]:
    """Our tags, and any marker the user registered in their ini file."""
    registered = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    return set(TAGS) | registered


def pytest_sessionstart(session: pytest.Session) -> None:
    """The feature files under the paths given, checked before any test module imports them
    (a syntax error would otherwise surface as a bare collection error)."""
    files = gate.feature_files([Path(arg.split("::")[0]) for arg in session.config.args])
    session.config.stash[CHECKED_KEY] = set(files)
    problems = gate.check_files(files, known_tags(session.config))
    if problems:
        raise pytest.UsageError("the scenarios cannot run:\n  " + "\n  ".join(problems))


@pytest.hookimpl(tryfirst=True)  # before -m deselects: every scenario is checked
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    checked = config.stash.get(CHECKED_KEY, set())
    beside = [f for f in gate.feature_files([], items) if f not in checked]
    problems = gate.check_files(beside, known_tags(config))
    problems += gate.check_bindings(session, items)
    if any("::" in arg or Path(arg).is_file() for arg in config.args) or config.option.keyword:
        problems = [p for p in problems if "is bound by no test" not in p]  # a chosen subset
    if problems:
        raise pytest.UsageError("the scenarios cannot run:\n  " + "\n  ".join(problems))
    seed = config.getoption("shuffle_scenarios")
    if seed is not None:
        _shuffle_scenarios(items, seed)
    asked = "gameday" in (config.option.markexpr or "") or any("::" in a for a in config.args)
    if not asked:
        # The long scenarios run only when asked for, like pytest's own "slow" recipe.
        long = [i for i in items if i.get_closest_marker("gameday") and gate.is_scenario(i)]
        if long:
            config.hook.pytest_deselected(items=long)
            items[:] = [i for i in items if i not in long]


def _shuffle_scenarios(items: list[pytest.Item], seed: int) -> None:
    """Shuffle the scenarios among the places scenarios hold; other tests keep their order."""
    places = [n for n, item in enumerate(items) if gate.is_scenario(item)]
    shuffled = [items[n] for n in places]
    random.Random(seed).shuffle(shuffled)  # noqa: S311 (a test order, not a secret)
    for place, item in zip(places, shuffled, strict=True):
        items[place] = item


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    markexpr = session.config.option.markexpr
    if markexpr and session.items == [] and session.config.stash.get(gate.COLLECTED_KEY, 0):
        raise pytest.UsageError(
            f"-m {markexpr!r} selects nothing (scenario tags: "
            f"{', '.join(sorted(known_tags(session.config)))})"
        )


#: One line per failed step (JSON): the evidence `gameday regressions` reads.
STEP_FAILURES = "step-failures.jsonl"


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
    exception: BaseException,
) -> None:
    run_dir = request.config.stash.get(RUN_DIR_KEY, None)
    if run_dir is None:
        return
    failure = {
        "test": request.node.name,
        "feature": feature.rel_filename,
        "scenario": scenario.name,
        "step": f"{step.keyword} {step.name}",
        "type": step.type,  # given, when or then (an And takes its predecessor's)
        "exception": type(exception).__name__,
        "message": str(exception)[:2000],
    }
    with open(run_dir / STEP_FAILURES, "a") as out:
        out.write(json.dumps(failure) + "\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    run_dir = session.config.stash.get(RUN_DIR_KEY, None)
    if run_dir is None or hasattr(session.config, "workerinput"):
        return
    session.config.add_cleanup(lambda: _render(run_dir))


def _render(run_dir: Path) -> None:
    """The run folder's HTML report, once pytest-bdd has written cucumber.json."""
    cucumber = run_dir / "cucumber.json"
    if not cucumber.is_file() or cucumber.read_text().strip() in ("", "[]"):
        return  # no scenario ran: nothing to report
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
        status = _status(Path(given))
        run_dir = request.config.stash.get(RUN_DIR_KEY, None)
        if run_dir is not None:
            variants.record(run_dir, status)  # a broken variant shows in the run's report
        with httpx.Client(timeout=30) as http:
            yield ReferenceSystem(Path(given), status, http)
        return
    state_dir = tmp_path_factory.mktemp("scenario-stack") / ".gameday"
    env = {**PRIVATE_STACK_ENV, "GAMEDAY_BACKEND_PORT": "0", "GAMEDAY_API_PORT": "0"}
    env["GAMEDAY_DOWNSTREAM_PORT"] = "0"
    try:
        started = _gameday("up", "--detach", state_dir=state_dir, extra_env=env, timeout=120)
        if started.returncode != 0:
            pytest.fail(f"the stack did not start: {started.stderr.strip()[-800:]}", pytrace=False)
        with httpx.Client(timeout=30) as http:
            yield ReferenceSystem(state_dir, _status(state_dir), http)
    finally:
        _gameday("down", state_dir=state_dir, timeout=90)


@pytest.fixture
def world(
    reference_system: ReferenceSystem, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[World]:
    """This scenario's accounting window; every fault is cleared afterwards, pass or fail."""
    from gameday.chaos.faults.actions import clear_faults
    from gameday.chaos.queue.actions import wait_for_drain
    from gameday.chaos.workers.actions import resume_workers

    run_dir = tmp_path / "run"
    catalogue = slo.load_catalogue()
    opened = World.open(reference_system, run_dir, catalogue)
    configuration = reference_system.configuration(run_dir)
    try:
        yield opened
    finally:
        if opened.facts.get("paused"):
            resume_workers(configuration)
        try:
            switched_on = reference_system.fault_switched_on()
        except Exception:  # unreadable switches: clear them anyway
            switched_on = True
        if switched_on:
            clear_faults(configuration)
        # What this scenario left queued must not land in the next one's accounting window:
        # a queue that does not drain fails this scenario's teardown, not the next scenario.
        # With -x after a failure there is no next scenario: no need to wait.
        if not request.session.shouldfail:
            wait_for_drain(opened.drain_timeout, configuration=configuration)


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
