"""Latency of accepted requests, whole run and by phase (before, during, after the fault).

Exact wherever the evidence allows: the load generator's HDR histograms, and its
5-second slices for the phases; without slices, the phases are estimated from the
API's Prometheus buckets and the caption says so.
"""

from __future__ import annotations

from gameday.measure.histograms import SLICE_SECONDS, Latencies, slices
from reports.charts import DASH, Table, fmt
from reports.objectives import Exact, latency_summary
from reports.timeline import (
    ApiWindow,
    Phase,
    Timeline,
    Window,
    estimate_percentiles,
    phases,
)

LATENCY = "ingest.latency_ms"


def latency_table(
    timeline: Timeline,
    api: list[ApiWindow | None],
    windows: list[Window],
    x_range: tuple[float, float],
    exact: Exact,
) -> Table | None:
    whole = latency_summary(exact, LATENCY)
    table = Table("", ["when", "source", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"])
    if whole:
        table.rows.append(
            [
                "whole run",
                "exact (HDR histogram, from the intended start)",
                f"{whole['count']:,}",
                fmt(whole["p50"]),
                fmt(whole["p95"]),
                fmt(whole["p99"]),
                fmt(whole["max"]),
            ]
        )
    parts = phases(windows, *x_range)
    sliced = slices(exact.m.histograms, LATENCY) if exact.m else {}
    for phase in parts:
        if sliced:
            table.rows.append(_exact_phase_row(phase, sliced))
            continue
        inside = [w for w in api if w is not None and phase.start < w.t <= phase.end]
        requests, est = estimate_percentiles(inside)
        table.rows.append(
            [
                phase.name,
                "estimate (API buckets)",
                fmt(requests),
                fmt(est["p50"]),
                fmt(est["p95"]),
                fmt(est["p99"]),
                DASH,
            ]
        )
    if not table.rows:
        return None
    caption = (
        "Latency of accepted requests. The whole run is exact: the load generator's "
        "HDR histogram, measured from each request's intended start. "
    )
    if parts and sliced:
        caption += (
            f"Each phase is exact too: the HDR histograms of the {SLICE_SECONDS}-second "
            "slices whose middle falls in it, merged (a phase's edges are rounded to a slice)."
        )
    elif parts:
        caption += (
            "The evidence holds no histogram per phase, so the phases are estimates "
            "from the API's Prometheus buckets (server time, upper bucket edges per "
            "sample, weighted by requests): bucket resolution, not exact."
        )
    else:
        caption += "No fault window was recorded, so the run has no before/during/after phases."
    table.caption = caption
    return table


def _exact_phase_row(phase: Phase, sliced: dict[int, Latencies]) -> list[str]:
    middle = SLICE_SECONDS / 2
    inside = [h for start, h in sliced.items() if phase.start <= start + middle < phase.end]
    merged = Latencies.merge(inside)
    if not merged.count:
        return [phase.name, "exact (HDR slices)", "0", DASH, DASH, DASH, DASH]
    p50, p95, p99, top = (merged.percentile_ms(p) for p in (50, 95, 99, 100))
    return [
        phase.name,
        "exact (HDR slices)",
        f"{merged.count:,}",
        fmt(p50),
        fmt(p95),
        fmt(p99),
        fmt(top),
    ]
