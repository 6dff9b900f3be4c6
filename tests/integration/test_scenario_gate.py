"""The scenario gate: mistakes in a feature suite fail loudly, naming file and line.

Each test writes a small suite that loads ``scenarios.plugin`` (as a user's project
does) and runs the real ``pytest`` on it. The gate stops them at collection, before
any stack would start, so no stack is needed here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = 'pytest_plugins = ["scenarios.plugin"]\n'
TEST_MODULE = 'from pytest_bdd import scenarios\n\nscenarios("features")\n'
GOOD_FEATURE = """Feature: Orders
  @ci
  Scenario: Orders flow
    Given the reference system is running
    When 5 orders arrive
    Then no order is lost or applied twice
"""


def suite(tmp_path: Path, feature: str, extra: dict[str, str] | None = None) -> Path:
    root = tmp_path / "suite"
    (root / "features").mkdir(parents=True)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_suite.py").write_text(TEST_MODULE)
    (root / "features" / "orders.feature").write_text(feature)
    for name, text in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_good_suite_collects(tmp_path: Path) -> None:
    result = pytest_in(suite(tmp_path, GOOD_FEATURE), "--collect-only", "-q", "-m", "ci")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 test collected" in result.stdout


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (
            GOOD_FEATURE.replace("When 5 orders arrive", "When the moon turns blue"),
            "orders.feature:5: undefined step: When the moon turns blue",
        ),
        (
            GOOD_FEATURE + "\n  Scenario: Orders flow\n    Given the reference system is running\n",
            "orders.feature:8: a second scenario named 'Orders flow' (first at line 3)",
        ),
        (GOOD_FEATURE.replace("@ci", "@nightly"), "orders.feature:2: unknown tag @nightly"),
        (GOOD_FEATURE.replace("Scenario:", "Scenari:"), "orders.feature:3: not valid Gherkin"),
    ],
    ids=["undefined-step", "same-name", "unknown-tag", "syntax-error"],
)
def test_a_broken_suite_fails_naming_file_and_line(
    tmp_path: Path, feature: str, expected: str
) -> None:
    result = pytest_in(suite(tmp_path, feature), "-m", "ci")
    assert result.returncode not in (0, 5), result.stdout
    assert expected in result.stdout + result.stderr, result.stdout + result.stderr


def test_an_unbound_feature_fails(tmp_path: Path) -> None:
    # features/more/ holds a feature no test module binds (scenarios() got only one file)
    root = suite(tmp_path, GOOD_FEATURE, {"features/more/extra.feature": GOOD_FEATURE})
    (root / "test_suite.py").write_text(
        'from pytest_bdd import scenarios\n\nscenarios("features/orders.feature")\n'
    )
    result = pytest_in(root, "-m", "ci")
    assert result.returncode not in (0, 5)
    assert "extra.feature:3: scenario 'Orders flow' is bound by no test" in result.stderr


def test_a_marker_expression_that_selects_nothing_fails(tmp_path: Path) -> None:
    result = pytest_in(suite(tmp_path, GOOD_FEATURE), "-m", "spike")
    assert result.returncode not in (0, 5), result.stdout
    assert "-m 'spike' selects nothing" in result.stderr
