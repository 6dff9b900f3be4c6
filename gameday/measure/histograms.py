"""Exact latency distributions: HDR histograms (microseconds, 3 significant digits).

Locust buckets its percentiles to about two significant digits; these keep
three over a range of 1 microsecond to 1 hour, merge across processes
(``merge``), and travel as text (``encode``/``decode``) in run folders.
"""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS = 1, 3_600_000_000, 3
#: Width of the time slices a latency is also recorded in (``ingest.latency_ms@<epoch s>``),
#: so a report can give exact percentiles before, during and after a fault.
SLICE_SECONDS = 5


class Latencies:
    """Latencies in milliseconds in, percentiles and shares in milliseconds out."""

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self.histogram = histogram or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)

    def record_ms(self, value_ms: float) -> None:
        micros = min(HIGHEST_US, max(LOWEST_US, round(value_ms * 1000)))
        self.histogram.record_value(micros)

    @property
    def count(self) -> int:
        return int(self.histogram.get_total_count())

    def percentile_ms(self, percentile: float) -> float:
        return float(self.histogram.get_value_at_percentile(percentile)) / 1000

    def share(self, op: str, value_ms: float) -> float:
        """The share of recorded values for which ``value op value_ms`` holds."""
        if not self.count:
            return 0.0
        limit = value_ms * 1000
        good = 0
        for item in self.histogram.get_recorded_iterator():
            # Compare the bucket's equivalent range so "lte 250 ms" counts 250.1 ms as 250.
            low = self.histogram.get_lowest_equivalent_value(item.value_iterated_to)
            if holds(op, low, limit):
                good += item.count_added_in_this_iter_step
        return good / self.count

    def encode(self) -> str:
        return str(self.histogram.encode().decode())

    @classmethod
    def decode(cls, text: str) -> Latencies:
        return cls(HdrHistogram.decode(text.encode()))

    @classmethod
    def merge(cls, parts: Iterable[Latencies]) -> Latencies:
        merged = cls()
        for part in parts:
            merged.histogram.add(part.histogram)
        return merged


def holds(op: str, measured: float, limit: float) -> bool:
    return {
        "lt": measured < limit,
        "lte": measured <= limit,
        "gt": measured > limit,
        "gte": measured >= limit,
        "eq": measured == limit,
    }[op]


def slice_name(indicator: str, at: float) -> str:
    """The histogram of ``indicator`` for the time slice holding wall-clock time ``at``."""
    return f"{indicator}@{int(at // SLICE_SECONDS) * SLICE_SECONDS}"


def slices(histograms: dict[str, Latencies], indicator: str) -> dict[int, Latencies]:
    """The time slices of ``indicator`` by their start (epoch seconds)."""
    prefix = indicator + "@"
    return {
        int(name[len(prefix) :]): latencies
        for name, latencies in histograms.items()
        if name.startswith(prefix) and name[len(prefix) :].isdigit()
    }
