"""The SLO catalogue: OpenSLO v1 ``kind: SLO`` documents plus our ``kind: Invariants``.

One file (the project's ``slos.yaml``, else the bundled ``system_under_test/slos.yaml``)
is shared by experiments, load profiles and scenarios, so they all judge a run the
same way. The loader checks every field it reads; an error names the file, the document and the
field, and is a harness error (exit 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from gameday.errors import HarnessError
from gameday.project import Project, bundled_catalogue

DEFAULT_CATALOGUE = bundled_catalogue()

#: Our indicators (the metric source ``type: gameday``) and their units.
INDICATORS: dict[str, str] = {
    "ingest.requests": "requests",
    "ingest.non_5xx": "requests",
    "ingest.not_429": "requests",
    "ingest.latency_ms": "ms",
    "e2e.latency_ms": "ms",
    "poison.time_to_dlq_s": "s",
    "backlog.drain_time_s": "s",
    "fault.activation_time_s": "s",
    "ledger.lost": "ids",
    "ledger.duplicated": "ids",
    "ledger.unexpected": "ids",
    "dlq.unexpected_growth": "messages",
}
THRESHOLD_OPS = ("lt", "lte", "gt", "gte")
INVARIANT_OPS = (*THRESHOLD_OPS, "eq")
_DURATION = re.compile(r"^(-?\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CatalogueError(HarnessError):
    """A catalogue problem: ``file: document N (name): field: problem``."""


@dataclass(frozen=True)
class Objective:
    name: str
    target: float  # share of good events, strictly between 0 and 1
    op: str | None = None  # threshold SLOs: how a single measurement compares to value
    value: float | None = None


@dataclass(frozen=True)
class Slo:
    name: str
    display_name: str
    kind: str  # "ratio" or "threshold"
    indicator: str  # the threshold metric, or the "good" counter of a ratio
    total: str | None  # the "total" counter of a ratio
    window_seconds: int
    objectives: tuple[Objective, ...]


@dataclass(frozen=True)
class Invariant:
    name: str
    indicator: str
    op: str
    value: float


@dataclass(frozen=True)
class Catalogue:
    path: Path
    slos: tuple[Slo, ...]
    invariants: tuple[Invariant, ...]

    def only(self, names: list[str]) -> Catalogue:
        """The catalogue narrowed to these SLOs (an experiment's promises); invariants stay."""
        unknown = sorted(set(names) - {slo.name for slo in self.slos})
        if unknown:
            known = ", ".join(slo.name for slo in self.slos)
            raise CatalogueError(f"{self.path}: no SLO {unknown[0]!r} (known: {known})")
        return replace(self, slos=tuple(slo for slo in self.slos if slo.name in names))

    def slo(self, name: str) -> Slo:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)


class _Reader:
    """Reads one YAML document, remembering where it is for error messages."""

    def __init__(self, path: Path, index: int, document: Any) -> None:
        self.path, self.index, self.document = path, index, document
        self.name = "?"

    def fail(self, field: str, problem: str) -> CatalogueError:
        where = f"{self.path}: document {self.index} ({self.name})"
        return CatalogueError(f"{where}: {field}: {problem}")

    def get(self, node: Any, field: str, kind: type | tuple[type, ...], path: str) -> Any:
        if not isinstance(node, dict) or field not in node:
            raise self.fail(path, "is missing")
        value = node[field]
        if value is None:
            raise self.fail(path, "is empty")
        if isinstance(value, bool) or not isinstance(value, kind):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(path, f"must be {names}, not {type(value).__name__}")
        return value


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Parse and check the catalogue (default: the project's); errors name file, document, field."""
    path = Path(path) if path else Project.current().catalogue
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML ({exc})") from None
    slos: list[Slo] = []
    invariants: list[Invariant] = []
    names: set[str] = set()
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        reader = _Reader(path, index, document)
        if not isinstance(document, dict):
            raise reader.fail("(document)", f"must be a mapping, not {type(document).__name__}")
        reader.name = str(
            reader.get(
                reader.get(document, "metadata", dict, "metadata"), "name", str, "metadata.name"
            )
        )
        if reader.name in names:
            raise reader.fail("metadata.name", "is used by an earlier document")
        names.add(reader.name)
        kind = reader.get(document, "kind", str, "kind")
        if kind == "SLO":
            _check_api(reader, document, "openslo/v1")
            slos.append(_slo(reader, document))
        elif kind == "Invariants":
            _check_api(reader, document, "gameday/v1")
            invariants.extend(_invariants(reader, document))
        else:
            raise reader.fail("kind", f"{kind!r} is neither SLO nor Invariants")
    if not slos and not invariants:
        raise CatalogueError(f"{path}: holds no SLO or Invariants document")
    return Catalogue(path, tuple(slos), tuple(invariants))


def _check_api(reader: _Reader, document: dict[str, Any], expected: str) -> None:
    version = reader.get(document, "apiVersion", str, "apiVersion")
    if version != expected:
        raise reader.fail("apiVersion", f"must be {expected}, not {version!r}")


def _slo(reader: _Reader, document: dict[str, Any]) -> Slo:
    spec = reader.get(document, "spec", dict, "spec")
    metadata = document["metadata"]
    indicator_spec = reader.get(
        reader.get(spec, "indicator", dict, "spec.indicator"), "spec", dict, "spec.indicator.spec"
    )
    if "ratioMetric" in indicator_spec:
        ratio = reader.get(indicator_spec, "ratioMetric", dict, "spec.indicator.spec.ratioMetric")
        base = "spec.indicator.spec.ratioMetric"
        good = _indicator(reader, reader.get(ratio, "good", dict, f"{base}.good"), f"{base}.good")
        total = _indicator(
            reader, reader.get(ratio, "total", dict, f"{base}.total"), f"{base}.total"
        )
        kind, indicator = "ratio", good
    elif "thresholdMetric" in indicator_spec:
        base = "spec.indicator.spec.thresholdMetric"
        threshold = reader.get(indicator_spec, "thresholdMetric", dict, base)
        kind, indicator, total = "threshold", _indicator(reader, threshold, base), None
    else:
        raise reader.fail("spec.indicator.spec", "needs a ratioMetric or a thresholdMetric")
    windows = reader.get(spec, "timeWindow", list, "spec.timeWindow")
    if len(windows) != 1:
        raise reader.fail("spec.timeWindow", "must hold exactly one window")
    window = _duration(
        reader, reader.get(windows[0], "duration", str, "spec.timeWindow[0].duration")
    )
    raw_objectives = reader.get(spec, "objectives", list, "spec.objectives")
    if not raw_objectives:
        raise reader.fail("spec.objectives", "must hold at least one objective")
    objectives = tuple(
        _objective(reader, raw, f"spec.objectives[{i}]", kind)
        for i, raw in enumerate(raw_objectives)
    )
    return Slo(
        reader.name,
        str(metadata.get("displayName", reader.name)),
        kind,
        indicator,
        total,
        window,
        objectives,
    )


def _indicator(reader: _Reader, node: dict[str, Any], path: str) -> str:
    source = reader.get(node, "metricSource", dict, f"{path}.metricSource")
    kind = reader.get(source, "type", str, f"{path}.metricSource.type")
    if kind != "gameday":
        raise reader.fail(f"{path}.metricSource.type", f"must be gameday, not {kind!r}")
    spec = reader.get(source, "spec", dict, f"{path}.metricSource.spec")
    name = reader.get(spec, "indicator", str, f"{path}.metricSource.spec.indicator")
    _known(reader, name, f"{path}.metricSource.spec.indicator")
    return str(name)


def _known(reader: _Reader, name: str, path: str) -> None:
    if name not in INDICATORS:
        close = [n for n in INDICATORS if n.split(".")[0] == name.split(".", maxsplit=1)[0]]
        hint = f" (known: {', '.join(close or INDICATORS)})"
        raise reader.fail(path, f"unknown indicator {name!r}{hint}")


def _objective(reader: _Reader, raw: Any, path: str, kind: str) -> Objective:
    if not isinstance(raw, dict):
        raise reader.fail(path, "must be a mapping")
    target = float(reader.get(raw, "target", (int, float), f"{path}.target"))
    if not 0 < target < 1:
        raise reader.fail(
            f"{path}.target",
            f"{target} must be above 0 and below 1 "
            "(OpenSLO; put exact promises in an Invariants document)",
        )
    name = str(raw.get("displayName", f"objective {path}"))
    if kind == "ratio":
        return Objective(name, target)
    op = reader.get(raw, "op", str, f"{path}.op")
    if op not in THRESHOLD_OPS:
        raise reader.fail(f"{path}.op", f"{op!r} is not one of {', '.join(THRESHOLD_OPS)}")
    value = float(reader.get(raw, "value", (int, float), f"{path}.value"))
    return Objective(name, target, op, value)


def _duration(reader: _Reader, text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise reader.fail("spec.timeWindow[0].duration", f"{text!r} is not like 30s, 5m or 1h")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds <= 0:
        raise reader.fail("spec.timeWindow[0].duration", f"{text!r} must be positive")
    return seconds


def _invariants(reader: _Reader, document: dict[str, Any]) -> list[Invariant]:
    spec = reader.get(document, "spec", dict, "spec")
    raw_list = reader.get(spec, "invariants", list, "spec.invariants")
    if not raw_list:
        raise reader.fail("spec.invariants", "must hold at least one invariant")
    result = []
    for i, raw in enumerate(raw_list):
        path = f"spec.invariants[{i}]"
        name = reader.get(raw, "name", str, f"{path}.name")
        indicator = reader.get(raw, "indicator", str, f"{path}.indicator")
        _known(reader, indicator, f"{path}.indicator")
        op = reader.get(raw, "op", str, f"{path}.op")
        if op not in INVARIANT_OPS:
            raise reader.fail(f"{path}.op", f"{op!r} is not one of {', '.join(INVARIANT_OPS)}")
        value = float(reader.get(raw, "value", (int, float), f"{path}.value"))
        result.append(Invariant(name, indicator, op, value))
    return result
