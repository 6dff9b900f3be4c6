"""`gameday bench ledger`: reconcile a million acked ids; time and peak memory.

The inputs are what a big run leaves: the acked-ids file on disk, the
downstream's effects per order id and the DLQ's order ids, built here with a
few of each breach mixed in so every branch is exercised. The figure is the
time to read the file and reconcile, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import TextIO

from gameday.errors import EXIT_BREACHED, EXIT_OK
from gameday.measure.ledger import ACKED_FILE, read_ids, reconcile

SECONDS_TARGET = 10.0
MEGABYTES_TARGET = 500.0


def main(args: argparse.Namespace, out: TextIO) -> int:
    count = args.ids
    with tempfile.TemporaryDirectory(prefix="gameday-ledger-") as folder:
        path = Path(folder) / ACKED_FILE
        with open(path, "w") as handle:
            handle.writelines(f"order-{n:012d}\n" for n in range(count))
        dead_every, lost_every, dup_every = 1000, 100_000, 50_000
        effects = {
            f"order-{n:012d}": (2 if n % dup_every == 1 else 1)
            for n in range(count)
            if n % dead_every and n % lost_every != 7
        }
        effects["never-acked"] = 1
        dead = {f"order-{n:012d}": 1 for n in range(0, count, dead_every)}
        started = time.perf_counter()
        report = reconcile(read_ids(path), effects, dead)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nLedger reconciliation of {report.acked:,} acked ids (inputs included in memory)",
        file=out,
    )
    print(
        f"  applied {report.applied:,}, dead-lettered {report.dead_lettered:,}, "
        f"lost {report.lost}, duplicated {report.duplicated}, unexpected {report.unexpected}",
        file=out,
    )
    print(
        f"  time {seconds:.2f} s (target < {SECONDS_TARGET:.0f} s), "
        f"peak memory {peak_mb:.0f} MB (target < {MEGABYTES_TARGET:.0f} MB)",
        file=out,
    )
    ok = seconds < SECONDS_TARGET and peak_mb < MEGABYTES_TARGET
    return EXIT_OK if ok else EXIT_BREACHED
