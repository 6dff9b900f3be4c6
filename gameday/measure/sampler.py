"""The timeline sampler: what the system did, second by second, as JSON lines.

Each sample costs one GetQueueAttributes per queue (orders and DLQ) and one
reading of the system's own metrics from the stack's metrics source
(`sources.py`: a scrape of each process's ``/metrics``, or CloudWatch): circuit
states, the active fault, API request rate, status counts and latency
percentiles. Scraped percentiles are the API's Prometheus bucket edges;
exact latencies are the load generator's HDR histograms. Markers (fault
start/stop, phases) go into the same file.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from gameday.measure import sources
from gameday.stack.state import aws_client
from system_under_test import queues

TIMELINE = "timeline.jsonl"


class TimelineSampler:
    def __init__(
        self,
        run_dir: Path,
        sqs: Any,
        queue_url: str,
        dlq_url: str,
        source: sources.MetricsSource,
        interval: float = 1.0,
    ) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / TIMELINE
        self._sqs, self._queue_url, self._dlq_url = sqs, queue_url, dlq_url
        self.source = source
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: dict[str, Any] | None = None
        self.samples = 0

    @classmethod
    def for_stack(cls, run_dir: Path, state: dict[str, Any]) -> TimelineSampler:
        """The sampler of a running stack described by its state file."""
        return cls(
            run_dir,
            aws_client(state, "sqs"),
            state["resources"]["queue_url"],
            state["resources"]["dlq_url"],
            sources.for_stack(state),
        )

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="timeline-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self.source.close()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception as exc:
                self._write({"t": time.time(), "error": f"{type(exc).__name__}: {exc}"[:200]})
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    # -- records ----------------------------------------------------------------
    def mark(self, marker: str, **fields: Any) -> None:
        """A marker line: fault start/stop, phase changes."""
        self._write({"t": time.time(), "marker": marker, **fields})

    def sample_once(self) -> dict[str, Any]:
        sample: dict[str, Any] = {"t": time.time()}
        sample["queue"] = queues.depth(self._sqs, self._queue_url)
        sample["dlq"] = queues.depth(self._sqs, self._dlq_url)
        sample.update(self.source.sample())
        self._write(sample)
        self.latest = sample
        self.samples += 1
        return sample

    def over_last(self, seconds: float) -> dict[str, Any]:
        """The API's rates and percentiles over (about) the last ``seconds``; {} before data."""
        return self.source.over_last(seconds)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"))
        with self._lock, open(self.path, "a") as handle:
            handle.write(line + "\n")


def read_timeline(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / TIMELINE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
