"""The checks pytest-bdd leaves to run time, or skips silently, made at collection.

pytest-bdd keeps only the last of two scenarios with one name in a feature, fails
an undefined step only after the steps before it ran, and says nothing about a
feature file no test binds. Each of these is an error here, naming file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.feature import get_features
from pytest_bdd.scenario import find_fixturedefs_for_step, scenario_wrapper_template_registry

COLLECTED_KEY = pytest.StashKey[int]()
_SCENARIO_LINE = re.compile(
    r"^\s*(?:Scenario Outline|Scenario Template|Scenario|Example):\s*(.+?)\s*$"
)
_TAG_LINE = re.compile(r"^\s*@")


def is_scenario(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    return function is not None and function in scenario_wrapper_template_registry


def feature_files(paths: list[Path], items: list[pytest.Item] | None = None) -> list[Path]:
    """Feature files under the paths pytest was given and beside every collected scenario's."""
    folders = list(paths)
    for item in items or []:
        if is_scenario(item):
            template = scenario_wrapper_template_registry[item.function]  # type: ignore[attr-defined]
            folders.append(Path(template.feature.filename).parent)
    files: set[Path] = set()
    for path in folders:
        if path.is_file() and path.suffix == ".feature":
            files.add(path.resolve())
        elif path.is_dir():
            files.update(p.resolve() for p in path.rglob("*.feature") if ".venv" not in p.parts)
    return sorted(files)


def check_files(files: list[Path], known_tags: set[str]) -> list[str]:
    """Problems pytest-bdd would hide: duplicate scenario names, unknown tags, bad Gherkin."""
    problems = []
    for path in files:
        seen: dict[str, int] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if match := _SCENARIO_LINE.match(line):
                name = match.group(1)
                if name in seen:
                    problems.append(
                        f"{path}:{number}: a second scenario named {name!r} (first at line "
                        f"{seen[name]}); pytest-bdd would silently keep only one"
                    )
                seen.setdefault(name, number)
            elif _TAG_LINE.match(line):
                code = line.split("#", 1)[0]
                for tag in re.findall(r"@(\S+)", code):
                    if tag not in known_tags:
                        problems.append(
                            f"{path}:{number}: unknown tag @{tag} "
                            f"(known: {', '.join(sorted(known_tags))})"
                        )
        try:
            get_features([str(path)])
        except GherkinParseError as exc:
            problems.append(f"{path}:{exc.line}: not valid Gherkin: {exc.message}")
        except Exception as exc:  # any other parser failure: still named by file
            problems.append(f"{path}: not valid Gherkin: {exc}")
    return problems


def check_bindings(session: pytest.Session, items: list[pytest.Item]) -> list[str]:
    """Every step of every collected scenario has a definition; every scenario is bound."""
    problems: list[str] = []
    reported: set[tuple[str, int]] = set()
    bound: set[tuple[str, str]] = set()
    folders: set[Path] = set()
    scenario_items = [item for item in items if is_scenario(item)]
    session.config.stash[COLLECTED_KEY] = len(scenario_items)
    for item in scenario_items:
        template = scenario_wrapper_template_registry[item.function]  # type: ignore[attr-defined]
        feature = template.feature
        bound.add((str(Path(feature.filename).resolve()), template.name))
        folders.add(Path(feature.filename).resolve().parent)
        callspec = getattr(item, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
        for step in template.render(example).steps:
            where = (feature.filename, step.line_number)
            if where in reported:
                continue
            if not any(find_fixturedefs_for_step(step, session._fixturemanager, item)):
                reported.add(where)
                problems.append(
                    f"{feature.filename}:{step.line_number}: undefined step: "
                    f"{step.keyword} {step.name}"
                )
    for path in feature_files(sorted(folders)):
        for feature in get_features([str(path)]):
            for template in feature.scenarios.values():
                if (str(path), template.name) not in bound:
                    problems.append(
                        f"{path}:{template.line_number}: scenario {template.name!r} is bound "
                        f"by no test (call scenarios() on its folder)"
                    )
    return problems
