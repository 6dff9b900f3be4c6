"""The SLO catalogue loader: the shipped catalogue loads, and each mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.errors import EXIT_HARNESS
from gameday.measure.slo import CatalogueError, load_catalogue

GOOD_SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: lat}
spec:
  indicator:
    metadata: {name: lat-ms}
    spec:
      thresholdMetric:
        metricSource: {type: gameday, spec: {indicator: ingest.latency_ms}}
  timeWindow: [{duration: 5m, isRolling: true}]
  objectives:
    - {op: lte, value: 250, target: 0.99}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    return path


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue()
    names = {slo.name for slo in catalogue.slos}
    assert {
        "ingest-availability",
        "ingest-latency",
        "end-to-end-latency",
        "poison-quarantine",
        "backlog-drain",
        "spike-shedding",
        "fault-activation",
    } <= names
    assert {i.name for i in catalogue.invariants} >= {
        "zero-lost",
        "zero-duplicated",
        "zero-unexpected",
    }
    latency = catalogue.slo("ingest-latency")
    assert latency.window_seconds == 300
    assert [(o.op, o.value, o.target) for o in latency.objectives] == [
        ("lte", 150.0, 0.95),
        ("lte", 250.0, 0.99),
    ]


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (
            ("ingest.latency_ms", "ingest.latncy_ms"),
            "spec.indicator.spec.thresholdMetric.metricSource.spec.indicator",
            "unknown indicator 'ingest.latncy_ms'",
        ),
        (("    - {op: lte, value: 250, target: 0.99}\n", ""), "spec.objectives", "is empty"),
        (
            ("  objectives:\n    - {op: lte, value: 250, target: 0.99}\n", "  objectives: []\n"),
            "spec.objectives",
            "at least one objective",
        ),
        (("target: 0.99", "target: 1.0"), "spec.objectives[0].target", "below 1"),
        (("duration: 5m", "duration: -5m"), "spec.timeWindow[0].duration", "must be positive"),
        (("op: lte", "op: under"), "spec.objectives[0].op", "'under' is not one of"),
        (("value: 250", "value: fast"), "spec.objectives[0].value", "must be int or float"),
        (("  objectives:\n", "  objectivs:\n"), "spec.objectives", "is missing"),
        (("type: gameday", "type: prometheus"), "metricSource.type", "must be gameday"),
    ],
)
def test_each_mistake_names_file_document_and_field(
    tmp_path: Path, edit: tuple[str, str], field: str, problem: str
) -> None:
    path = _write(tmp_path, GOOD_SLO.replace(*edit))
    with pytest.raises(CatalogueError) as error:
        load_catalogue(path)
    message = str(error.value)
    assert str(path) in message
    assert "document 1 (lat)" in message
    assert field in message
    assert problem in message
    assert error.value.exit_code == EXIT_HARNESS


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- just\n- a list\n", "document 1 (?): (document): must be a mapping, not list"),
        ("key: [unclosed\n", "not valid YAML"),
        ("", "holds no SLO or Invariants document"),
        (GOOD_SLO + "---\n" + GOOD_SLO, "document 2 (lat): metadata.name: is used by an earlier"),
        (GOOD_SLO.replace("kind: SLO", "kind: Slo"), "kind: 'Slo' is neither SLO nor Invariants"),
    ],
)
def test_whole_file_mistakes(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(CatalogueError, match=None) as error:
        load_catalogue(_write(tmp_path, text))
    assert problem in str(error.value)


def test_invariants_are_checked_too(tmp_path: Path) -> None:
    text = """\
apiVersion: gameday/v1
kind: Invariants
metadata: {name: accounting}
spec:
  invariants:
    - {name: zero-lost, indicator: ledger.lots, op: eq, value: 0}
"""
    with pytest.raises(CatalogueError) as error:
        load_catalogue(_write(tmp_path, text))
    assert "spec.invariants[0].indicator: unknown indicator 'ledger.lots'" in str(error.value)


def test_missing_file_is_a_harness_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "nope.yaml")
