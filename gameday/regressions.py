"""`gameday regressions`: prove the scenarios catch a broken system, one variant at a time.

First the baseline: every scenario a chosen variant names as its catcher runs on a
healthy private stack and must pass. Then each variant gets a fresh private stack with
its defect injected, and its catchers run until the first failure (``pytest -x``). A
variant is *caught* only when a Then step fails its assertion: an error in a Given or
When, a failed start, a collection error or a timeout is an *error*, never a catch.
The table goes to the terminal, and as Markdown and JSON into the run folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from gameday import variants
from gameday.errors import EXIT_BREACHED, EXIT_OK
from gameday.project import bundled, run_folder
from gameday.run import PRIVATE_STACK_ENV
from gameday.settings import ENV_STATE_DIR
from gameday.stack.control import progress_printer
from gameday.variants import Variant

CAUGHT, SURVIVED, ERROR, PASSED, FAILED = "caught", "survived", "error", "passed", "failed"
TABLE_JSON, TABLE_MD = "regressions.json", "regressions.md"
HEALTH_FILE = "health-deep.json"
STACK_START_TIMEOUT_S = 120
STACK_STOP_TIMEOUT_S = 60
EVIDENCE_CHARS = 400


@dataclass
class Row:
    variant: str  # "baseline" for the healthy system
    defect: str
    catchers: list[str]
    outcome: str
    evidence: str
    seconds: float
    folder: str


def main(args: Any, out: TextIO, err: TextIO) -> int:
    if args.list:
        for variant in variants.CATALOGUE:
            print(f"{variant.name:<34} {variant.defect}", file=out)
        return EXIT_OK
    chosen = _chosen(args.variant)
    run_dir = run_folder(args.run_dir, "regressions")
    began = time.monotonic()
    progress = progress_printer(err)

    every_catcher = list(dict.fromkeys(c for v in chosen for c in v.catchers))
    progress(f"baseline: {len(every_catcher)} scenarios on the healthy system")
    rows = [_row(None, every_catcher, run_dir / "baseline", args.timeout, progress)]
    if rows[0].outcome == PASSED:
        for variant in chosen:
            progress(f"{variant.name}: {variant.defect}")
            folder = run_dir / variant.name
            rows.append(_row(variant, list(variant.catchers), folder, args.timeout, progress))
    else:
        progress("the baseline did not pass: the variants would prove nothing; stopping")
    wall = time.monotonic() - began
    _write(run_dir, rows, wall)
    print(markdown(rows, wall), file=out)
    print(f"\nwritten to {run_dir / TABLE_MD} and {TABLE_JSON}", file=out)
    return EXIT_OK if all_caught(rows, len(chosen)) else EXIT_BREACHED


def _chosen(names: Sequence[str] | None) -> list[Variant]:
    if not names:
        return list(variants.CATALOGUE)
    wanted = [part.strip() for name in names for part in name.split(",") if part.strip()]
    return [variants.named(name) for name in dict.fromkeys(wanted)]


def all_caught(rows: list[Row], expected_variants: int) -> bool:
    """The command's verdict: the baseline passed and every variant was caught."""
    baseline, tried = rows[0], rows[1:]
    return (
        baseline.outcome == PASSED
        and len(tried) == expected_variants
        and all(r.outcome == CAUGHT for r in tried)
    )


def _row(
    variant: Variant | None,
    catchers: list[str],
    folder: Path,
    timeout: float,
    progress: Callable[[str], None],
) -> Row:
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    outcome, evidence = _play(variant, catchers, folder, timeout)
    seconds = round(time.monotonic() - started, 1)
    progress(f"  {outcome} in {seconds:.0f} s: {evidence[:160]}")
    return Row(
        variant.name if variant else "baseline",
        variant.defect if variant else "none: the healthy system",
        catchers,
        outcome,
        evidence,
        seconds,
        folder.name,
    )


def _play(
    variant: Variant | None, catchers: list[str], folder: Path, timeout: float
) -> tuple[str, str]:
    """Start a private stack (broken or not), run the catchers on it, stop it; judge."""
    state_dir = folder / ".gameday"
    env = {**os.environ, **PRIVATE_STACK_ENV, ENV_STATE_DIR: str(state_dir)}
    for port in ("GAMEDAY_BACKEND_PORT", "GAMEDAY_API_PORT", "GAMEDAY_DOWNSTREAM_PORT"):
        env[port] = "0"
    up = [sys.executable, "-m", "gameday", "up", "--detach"]
    if variant:
        up += ["--variant", variant.name, "--i-know-it-is-broken", variant.name]
    try:
        started = subprocess.run(  # noqa: S603
            up, env=env, capture_output=True, text=True, timeout=STACK_START_TIMEOUT_S, check=False
        )
        if started.returncode != 0:
            return ERROR, f"the stack did not start: {_last_line(started.stderr)}"
        if variant:
            (folder / variants.VARIANT_FILE).write_text(json.dumps(variant.as_dict(), indent=2))
        _keep_health(folder, env)
        return _scenarios(variant, catchers, folder, state_dir, env, timeout)
    except subprocess.TimeoutExpired:
        return ERROR, f"the stack did not start within {STACK_START_TIMEOUT_S} s"
    finally:
        subprocess.run(
            [sys.executable, "-m", "gameday", "down"],
            env=env,
            capture_output=True,
            timeout=STACK_STOP_TIMEOUT_S,
            check=False,
        )


def _keep_health(folder: Path, env: dict[str, str]) -> None:
    """What the API's /health/deep said (it names an active variant), as evidence."""
    shown = subprocess.run(
        [sys.executable, "-m", "gameday", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        api = json.loads(shown.stdout)["parts"]["api"]["endpoint"]
        deep = httpx.get(api + "/health/deep", timeout=10).json()
    except (ValueError, KeyError, httpx.HTTPError) as exc:
        deep = {"error": f"unreadable: {exc}"}
    (folder / HEALTH_FILE).write_text(json.dumps(deep, indent=2) + "\n")


def _scenarios(
    variant: Variant | None,
    catchers: list[str],
    folder: Path,
    state_dir: Path,
    env: dict[str, str],
    timeout: float,
) -> tuple[str, str]:
    suite = bundled("scenarios")
    ini = folder / "pytest.ini"
    ini.write_text("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    command = [
        sys.executable,
        "-m",
        "pytest",
        *[f"{suite / variants.SCENARIO_MODULE}::{name}" for name in catchers],
        "-c",
        str(ini),
        "--rootdir",
        str(suite),
        "--gameday-state-dir",
        str(state_dir),
        "--gameday-run-dir",
        str(folder),
        "-q",
    ]
    if variant:
        command.append("-x")  # a variant stops at its first catch
    with open(folder / "pytest.log", "w") as log:
        try:
            ran = subprocess.run(  # noqa: S603
                command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return ERROR, f"timed out after {timeout:g} s (not a catch)"
    failures = _step_failures(folder)
    return judge(variant is not None, ran.returncode, failures, folder / "pytest.log")


def judge(
    is_variant: bool, returncode: int, failures: list[dict[str, Any]], log: Path
) -> tuple[str, str]:
    """Outcome and evidence from pytest's exit code and the failed steps it recorded."""
    first = failures[0] if failures else None
    if returncode == 0:
        return (SURVIVED, "every expected scenario passed") if is_variant else (PASSED, "")
    if first is None:
        return ERROR if is_variant else FAILED, f"pytest exited {returncode}: {_tail(log)}"
    # pytest appends its own explanation ("assert ... where ..."): the message says it all
    message = first["message"].split("\nassert ")[0]
    where = f"{first['scenario']}: {first['step']}: {message}"
    where = " ".join(where.split())[:EVIDENCE_CHARS]
    if not is_variant:
        return FAILED, where
    if first["type"] == "then" and first["exception"] == "AssertionError":
        return CAUGHT, where
    return ERROR, f"{first['exception']} in a {first['type'].title()} step, not a catch: {where}"


def _step_failures(folder: Path) -> list[dict[str, Any]]:
    from scenarios.plugin import STEP_FAILURES

    path = folder / STEP_FAILURES
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _tail(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return " / ".join(lines[-3:])[:EVIDENCE_CHARS]


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def markdown(rows: list[Row], wall_seconds: float) -> str:
    lines = [
        "| variant | injected defect | scenarios expected to catch it | outcome | evidence "
        "| seconds |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        catchers = "<br>".join(f"`{c}`" for c in row.catchers)
        cells = [row.variant, row.defect, catchers, f"**{row.outcome}**", row.evidence]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | {row.seconds:.0f} |")
    caught = sum(1 for r in rows[1:] if r.outcome == CAUGHT)
    lines.append("")
    lines.append(
        f"{caught} of {len(rows) - 1} variants caught; baseline {rows[0].outcome}; "
        f"wall time {wall_seconds / 60:.1f} min"
    )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _write(run_dir: Path, rows: list[Row], wall_seconds: float) -> None:
    (run_dir / TABLE_JSON).write_text(
        json.dumps(
            {"wall_seconds": round(wall_seconds, 1), "rows": [asdict(r) for r in rows]}, indent=2
        )
        + "\n"
    )
    (run_dir / TABLE_MD).write_text(markdown(rows, wall_seconds) + "\n")
