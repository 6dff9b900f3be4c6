"""The timeline (``timeline.jsonl``) as series, fault windows and phases.

Sample lines carry ``t``, ``queue``/``dlq`` (visible, inFlight, delayed),
``circuits`` (name -> closed/half_open/open), ``fault`` and ``api``. The
sampler writes ``api`` already differenced between two scrapes (``requests``,
``rps``, ``byStatus`` counts, bucket-edge ``p50Ms``/``p95Ms``/``p99Ms``); a
block holding the scrape's cumulative ``by_status``/``buckets`` instead is
differenced here, sample against sample. An empty block (first sample, API
unreachable) and a pause longer than three intervals are gaps: lines break
there instead of drawing across. Marker lines carry ``marker`` instead.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reports.evidence import num, obj

Points = list[tuple[float, float | None]]
QUIET_FAULTS = ("none", "unknown", "", None)
GAP_INTERVALS = 3.0
STATUS_CLASSES = ("2xx", "429", "4xx", "5xx", "other")
CIRCUIT_STATES = ("closed", "half_open", "open")


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class ApiWindow:
    """What the API answered between two samples."""

    t: float
    seconds: float
    requests: float
    by_class: dict[str, float]
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass
class Timeline:
    samples: list[dict[str, Any]] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)
    sampler_errors: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, records: Iterable[dict[str, Any]]) -> Timeline:
        found = cls()
        for record in sorted(records, key=lambda r: float(r["t"])):
            if "marker" in record:
                found.markers.append(record)
            elif "error" in record:
                found.sampler_errors.append(record)
            else:
                found.samples.append(record)
        return found

    def span(self) -> tuple[float, float] | None:
        times = [float(r["t"]) for r in (*self.samples, *self.markers)]
        return (min(times), max(times)) if times else None

    @functools.cached_property
    def interval(self) -> float:
        """The typical time between samples (the median: robust to one slow scrape)."""
        gaps = [b["t"] - a["t"] for a, b in zip(self.samples, self.samples[1:], strict=False)]
        positive = [g for g in gaps if g > 0]
        return statistics.median(positive) if positive else 1.0

    @functools.cached_property
    def times(self) -> list[float]:
        return [float(sample["t"]) for sample in self.samples]

    @functools.cached_property
    def _gaps(self) -> dict[int, float]:
        """Sample index -> the time of the gap before it, where the sampler paused."""
        limit = self.interval * GAP_INTERVALS
        times = self.times
        return {
            n: (times[n - 1] + times[n]) / 2
            for n in range(1, len(times))
            if times[n] - times[n - 1] > limit
        }

    def series(self, value: Callable[[dict[str, Any]], float | None]) -> Points:
        """One value per sample, with a None where the sampler paused (a gap)."""
        return self.aligned([value(sample) for sample in self.samples])

    def aligned(self, values: list[float | None]) -> Points:
        """Values given per sample as points, a None inserted where the sampler paused."""
        gaps = self._gaps
        if len(values) != len(self.times):
            raise ValueError("one value per sample")
        if not gaps:
            return list(zip(self.times, values, strict=True))
        points: Points = []
        for n, (t, value) in enumerate(zip(self.times, values, strict=True)):
            if n in gaps:
                points.append((gaps[n], None))
            points.append((t, value))
        return points

    def api(self) -> list[ApiWindow | None]:
        """The API's window per sample (None for a gap), from either form of ``api``."""
        found: list[ApiWindow | None] = []
        cumulative: dict[str, Any] | None = None
        previous_t: float | None = None
        interval = self.interval
        for sample in self.samples:
            t, block = float(sample["t"]), obj(sample.get("api"))
            seconds = t - previous_t if previous_t is not None else interval
            previous_t = t
            if "by_status" in block or "buckets" in block:
                found.append(_difference(cumulative, block, t, seconds))
                cumulative = block
            else:
                found.append(_windowed(block, t, seconds))
        return found

    def fault_windows(self) -> list[Window]:
        """Fault windows from fault_start/fault_end markers; else from each sample's fault."""
        span = self.span()
        if span is None:
            return []
        windows: list[Window] = []
        open_at: tuple[float, str] | None = None
        for marker in self.markers:
            kind, t = marker.get("marker"), float(marker["t"])
            if kind == "fault_start" and open_at is None:
                open_at = (t, str(marker.get("fault") or "fault"))
            elif kind == "fault_end" and open_at is not None:
                windows.append(Window(open_at[0], t, open_at[1]))
                open_at = None
        if open_at is not None:
            windows.append(Window(open_at[0], self._fault_cleared(open_at[0], span[1]), open_at[1]))
        return windows or self._sampled_faults()

    def _fault_cleared(self, since: float, default: float) -> float:
        for sample in self.samples:
            if sample["t"] > since and sample.get("fault") in QUIET_FAULTS[:1]:
                return float(sample["t"])
        return default

    def _sampled_faults(self) -> list[Window]:
        windows: list[Window] = []
        current: tuple[float, str] | None = None
        last_t = 0.0
        for sample in self.samples:
            fault, t = sample.get("fault"), float(sample["t"])
            active = fault not in QUIET_FAULTS
            if current is not None and (not active or str(fault) != current[1]):
                windows.append(Window(current[0], t, current[1]))
                current = None
            if active and current is None:
                current = (t, str(fault))
            last_t = t
        if current is not None:
            windows.append(Window(current[0], last_t, current[1]))
        return windows


def phases(windows: list[Window], start: float, end: float) -> list[Phase]:
    """Before the first fault, during the faults, after the last; [] without a fault."""
    if not windows:
        return []
    first, last = min(w.start for w in windows), max(w.end for w in windows)
    found = [Phase("before the fault", start, first), Phase("during", first, last)]
    found.append(Phase("after", last, end))
    return [p for p in found if p.end > p.start]


def estimate_percentiles(windows: Iterable[ApiWindow]) -> tuple[float, dict[str, float | None]]:
    """Requests and estimated p50/p95/p99 over several windows.

    Each window only knows its own bucket-edge percentiles, so its requests are
    spread over them (half at p50, 45% up to p95, 5% up to p99) and the phase's
    percentiles are read from that mixture: bucket resolution, an estimate.
    """
    mass: list[tuple[float, float]] = []
    total = 0.0
    for w in windows:
        if w.requests <= 0 or w.p50 is None:
            continue
        total += w.requests
        p95 = w.p95 if w.p95 is not None else w.p50
        p99 = w.p99 if w.p99 is not None else p95
        mass += [(w.p50, 0.5 * w.requests), (p95, 0.45 * w.requests), (p99, 0.05 * w.requests)]
    mass.sort()
    result: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        running, value = 0.0, None
        for edge, weight in mass:
            running += weight
            if running >= q * total - 1e-9:
                value = edge
                break
        result[name] = value
    return total, result


def _status_class(status: str) -> str:
    if status == "429":
        return "429"
    if len(status) == 3 and status[0] in "245":
        return f"{status[0]}xx"
    return "other"


def _classes(by_status: dict[str, Any]) -> dict[str, float]:
    counts = dict.fromkeys(STATUS_CLASSES, 0.0)
    for status, count in by_status.items():
        value = num(count)
        if value is not None:
            counts[_status_class(str(status).split(".")[0])] += value
    return counts


def _windowed(block: dict[str, Any], t: float, seconds: float) -> ApiWindow | None:
    requests = num(block.get("requests"))
    if requests is None:
        return None
    rps = num(block.get("rps"))
    if rps and requests:
        seconds = requests / rps  # the scrapes' own spacing
    return ApiWindow(
        t,
        max(seconds, 1e-6),
        requests,
        _classes(obj(block.get("byStatus"))),
        num(block.get("p50Ms")),
        num(block.get("p95Ms")),
        num(block.get("p99Ms")),
    )


def _difference(
    before: dict[str, Any] | None, now: dict[str, Any], t: float, seconds: float
) -> ApiWindow | None:
    """Two cumulative scrapes as one window; a counter reset (a restart) is a gap."""
    if before is None:
        return None
    old, new = obj(before.get("by_status")), obj(now.get("by_status"))
    deltas = {k: (num(v) or 0.0) - (num(old.get(k)) or 0.0) for k, v in new.items()}
    if any(d < 0 for d in deltas.values()):
        return None
    old_b, new_b = _edges(obj(before.get("buckets"))), _edges(obj(now.get("buckets")))
    buckets = {le: count - old_b.get(le, 0.0) for le, count in new_b.items()}
    total = sum(deltas.values())
    percentiles = {name: _bucket_edge(buckets, q) for name, q in (("p50", 0.5), ("p95", 0.95))}
    return ApiWindow(
        t,
        max(seconds, 1e-6),
        total,
        _classes(deltas),
        percentiles["p50"],
        percentiles["p95"],
        _bucket_edge(buckets, 0.99),
    )


def _edges(buckets: dict[str, Any]) -> dict[float, float]:
    """Prometheus ``le`` edges (strings in JSON: "0.025", "+Inf") as numbers, sorted."""
    found: dict[float, float] = {}
    for le, count in buckets.items():
        try:
            found[float(le)] = num(count) or 0.0
        except ValueError:
            continue
    return dict(sorted(found.items()))


def _bucket_edge(cumulative: dict[float, float], q: float) -> float | None:
    total = max(cumulative.values(), default=0.0)
    if total <= 0:
        return None
    for le, count in cumulative.items():
        if count >= q * total:
            return None if le == float("inf") else round(le * 1000, 1)
    return None
