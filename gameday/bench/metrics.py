"""`gameday bench metrics`: one CloudWatch window read in the embedded backend, at depth.

Every second the backend evaluates each alarm and the timeline's CloudWatch source asks
for the API's percentiles; each is a read of one metric's last seconds. moto keeps every
datum in one list and scans it for each query; `gameday/stack/metric_store.py` keeps each
metric's datums in time order, so a read touches only its window. This stores
``--datums`` latencies (a long run's worth at 20 orders/s: 50,000 is 42 minutes) and
times the same read both ways, in one run, and prints the ratio.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

from gameday.errors import EXIT_BREACHED, EXIT_OK, HarnessError

TARGET_RATIO = 10.0  # the indexed read at least ten times faster at 50,000 datums
NAMESPACE, METRIC, DIMENSIONS = "Gameday/Orders", "IngestLatency", [("service", "api")]


def main(args: argparse.Namespace, out: TextIO) -> int:
    if args.datums < 1 or args.window <= 0:
        raise HarnessError("--datums must be at least 1 and --window positive")
    from moto.cloudwatch.models import MetricDatum

    from gameday.stack.metric_store import IndexedMetricData, samples

    indexed = IndexedMetricData()
    spacing = 0.05  # one answer every 50 ms: 20 orders/s
    newest = datetime.now(UTC).replace(tzinfo=None)
    dims = [{"Name": k, "Value": v} for k, v in DIMENSIONS]
    for n in range(args.datums):
        stamp = newest - timedelta(seconds=(args.datums - n) * spacing)
        indexed.append(MetricDatum(NAMESPACE, METRIC, 20.0, dims, stamp, "Milliseconds"))
    scanned = list(indexed)  # moto's own list: every datum, scanned per query
    since = time.time() - args.window

    def timed(store: object, rounds: int) -> tuple[float, int]:
        started = time.perf_counter()
        for _ in range(rounds):
            found = samples(store, NAMESPACE, METRIC, DIMENSIONS, since)
        return (time.perf_counter() - started) / rounds, len(found)

    ours, in_window = timed(indexed, 20)
    theirs, same = timed(scanned, 3)
    if same != in_window:  # both reads must answer alike, or the timing means nothing
        raise HarnessError(f"the reads disagree: {same} datums scanned, {in_window} indexed")
    ratio = theirs / ours if ours else float("inf")
    print(
        f"One read of the last {args.window:g} s ({in_window} datums) of {args.datums:,}:", file=out
    )
    print(f"  scanning every datum (moto): {theirs * 1000:8.2f} ms", file=out)
    print(f"  indexed in time order (ours): {ours * 1000:7.2f} ms", file=out)
    print(f"  ratio: {ratio:.0f}x (target at least {TARGET_RATIO:g}x at 50,000)", file=out)
    return EXIT_OK if ratio >= TARGET_RATIO or args.datums < 50_000 else EXIT_BREACHED
