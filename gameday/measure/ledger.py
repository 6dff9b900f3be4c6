"""The message ledger: Jepsen's total-queue accounting of a run.

The load generator's own record of every id it got a 202 for (``acked-ids.txt``
in the run folder, kept outside the system) is checked, after the drain,
against the downstream's effects and the DLQ's contents:

- lost: acked, but neither applied nor dead-lettered;
- duplicated: applied more than once;
- unexpected: applied or dead-lettered, but never acked.

A run passes only with all three at zero and the queue drained. Ids are order
ids: SQS message ids dedupe redelivery only, the producer's id is what counts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from system_under_test import queues

ACKED_FILE = "acked-ids.txt"
SAMPLE = 20  # ids listed per problem in the report


class AckedIds:
    """Appends acked ids to a run folder's file, one per line; safe across threads."""

    def __init__(self, run_dir: Path, name: str = ACKED_FILE) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / name
        self._file: TextIO = open(self.path, "a", buffering=1 << 16)  # noqa: SIM115
        self._lock = threading.Lock()
        self.count = 0

    def record(self, acked_id: str) -> None:
        if "\n" in acked_id or not acked_id:
            raise ValueError(f"not a recordable id: {acked_id!r}")
        with self._lock:
            self._file.write(acked_id + "\n")
            self.count += 1

    def flush(self) -> None:
        with self._lock:
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_run_ids(run_dir: Path, name: str) -> set[str]:
    """Ids in ``name`` and its per-writer siblings (``acked-ids.chaos.txt`` by ``acked-ids.txt``).

    Each process that records ids writes its own file, so lines never interleave.
    """
    stem, suffix = name.rsplit(".", 1)
    paths = [run_dir / name, *sorted(run_dir.glob(f"{stem}.*.{suffix}"))]
    return {i for path in paths if path.is_file() for i in read_ids(path)}


def read_ids(path: Path) -> Iterator[str]:
    with open(path) as handle:
        for line in handle:
            stripped = line.rstrip("\n")
            if stripped:
                yield stripped


@dataclass
class LedgerReport:
    acked: int
    applied: int
    dead_lettered: int
    lost: int
    duplicated: int
    unexpected: int
    in_flight: int
    drained: bool
    drain_seconds: float | None
    samples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.drained and self.lost == self.duplicated == self.unexpected == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def reconcile(
    acked: Iterable[str],
    effects: Mapping[str, int],
    dead_lettered: Mapping[str, int],
    *,
    in_flight: int = 0,
    drained: bool = True,
    drain_seconds: float | None = None,
) -> LedgerReport:
    """Account for every acked id. ``effects`` and ``dead_lettered`` count per id."""
    acked_ids = set(acked)  # a replayed 202 acks the same id twice: it counts once
    applied = dead = 0
    lost: list[str] = []
    lost_count = 0
    for acked_id in acked_ids:
        if effects.get(acked_id, 0) > 0:
            applied += 1
        elif dead_lettered.get(acked_id, 0) > 0:
            dead += 1
        else:
            lost_count += 1
            if len(lost) < SAMPLE:
                lost.append(acked_id)
    duplicated = [i for i, n in effects.items() if n > 1]
    unexpected = [i for i, n in effects.items() if n > 0 and i not in acked_ids]
    unexpected += [
        i for i, n in dead_lettered.items() if n > 0 and i not in acked_ids and i not in effects
    ]
    return LedgerReport(
        acked=len(acked_ids),
        applied=applied,
        dead_lettered=dead,
        lost=lost_count,
        duplicated=len(duplicated),
        unexpected=len(unexpected),
        in_flight=in_flight,
        drained=drained,
        drain_seconds=drain_seconds,
        samples={
            "lost": sorted(lost),
            "duplicated": sorted(duplicated)[:SAMPLE],
            "unexpected": sorted(unexpected)[:SAMPLE],
        },
    )


def queue_depth(sqs: Any, url: str) -> int:
    """Visible + in flight + delayed: one GetQueueAttributes call."""
    return sum(queues.depth(sqs, url).values())


def wait_for_drain(
    depth: Callable[[], int],
    timeout: float,
    settle: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[bool, float, int]:
    """Poll until the queue stays empty for ``settle`` seconds or ``timeout`` passes.

    Returns (drained, seconds it took, messages left at the cut-off).
    """
    started = time.monotonic()
    empty_since: float | None = None
    last_report = started
    left = depth()
    while time.monotonic() - started < timeout:
        left = depth()
        now = time.monotonic()
        if left == 0:
            empty_since = empty_since or now
            if now - empty_since >= settle:
                return True, round(empty_since - started, 2), 0
        else:
            empty_since = None
        if progress and now - last_report >= 5:
            progress(f"draining: {left} messages left after {now - started:.0f} s")
            last_report = now
        time.sleep(0.2)
    return False, round(time.monotonic() - started, 2), left


def dead_lettered_ids(
    sqs: Any,
    dlq_url: str,
    time_budget: float = 30.0,
    quarantine_s: dict[str, float] | None = None,
) -> dict[str, int]:
    """Order ids in the DLQ, read without consuming (hidden briefly, then released).

    Bodies that are not our envelope count under ``"<unreadable>"``. With
    ``quarantine_s``, each order's seconds from acceptance to dead-lettering (the
    ``failedAt`` attribute the worker sets) are filled in.
    """
    counts: dict[str, int] = {}
    handles: list[str] = []
    seen: set[str] = set()
    deadline = time.monotonic() + time_budget
    while time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=int(time_budget) + 5,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            break
        for message in got:
            handles.append(message["ReceiptHandle"])
            if message["MessageId"] in seen:
                continue
            seen.add(message["MessageId"])
            order_id = _order_id(message["Body"]) or "<unreadable>"
            counts[order_id] = counts.get(order_id, 0) + 1
            if quarantine_s is not None:
                took = _quarantine_seconds(message)
                if took is not None:
                    quarantine_s[order_id] = took
    queues.release(sqs, dlq_url, handles)
    return counts


def _quarantine_seconds(message: dict[str, Any]) -> float | None:
    failed = message.get("MessageAttributes", {}).get("failedAt", {}).get("StringValue")
    try:
        accepted = json.loads(message["Body"])["acceptedAt"]
        return max(0.0, int(failed) / 1000 - float(accepted)) if failed else None
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def _order_id(body: str) -> str | None:
    try:
        order_id = json.loads(body)["order"]["orderId"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return order_id if isinstance(order_id, str) else None
