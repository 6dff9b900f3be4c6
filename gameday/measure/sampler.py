"""The timeline sampler: what the system did, second by second, as JSON lines.

Each sample costs one GetQueueAttributes per queue (orders and DLQ) and one
scrape of each process's ``/metrics`` (no AWS calls): queue depth, in flight,
DLQ depth, circuit states, the active fault, API request rate, status counts
and latency percentiles. The percentiles come from the API's Prometheus
buckets, so they are bucket edges: exact latencies are the load generator's
HDR histograms. Markers (fault start/stop, phases) go into the same file.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gameday.stack.state import aws_client
from system_under_test import queues
from system_under_test.circuit import STATE_NAME

TIMELINE = "timeline.jsonl"
#: How far back `over_last` can look: the API scrapes of the last 15 minutes.
WINDOW_SCRAPES = 900


class TimelineSampler:
    def __init__(
        self,
        run_dir: Path,
        sqs: Any,
        queue_url: str,
        dlq_url: str,
        api_url: str,
        worker_urls: list[str],
        interval: float = 1.0,
    ) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / TIMELINE
        self._sqs, self._queue_url, self._dlq_url = sqs, queue_url, dlq_url
        self._api, self._workers = api_url, worker_urls
        self.interval = interval
        self._http = httpx.Client(timeout=max(0.5, interval))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scrapes: deque[dict[str, Any]] = deque(maxlen=WINDOW_SCRAPES)
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
            state["parts"]["api"]["endpoint"],
            [p["endpoint"] for n, p in state["parts"].items() if n.startswith("worker-")],
        )

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="timeline-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self._http.close()

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
        api = self._scrape(self._api)
        circuits = dict(api.get("circuits", {}))
        for url in self._workers:
            for name, state in self._scrape(url).get("circuits", {}).items():
                circuits[name] = _worst(circuits.get(name), state)
        sample["circuits"] = circuits
        sample["fault"] = api.get("fault", "unknown")
        previous = self._scrapes[-1] if self._scrapes else None
        current = {"t": sample["t"], **api}
        sample["api"] = api_between(previous, current)
        if api:
            self._scrapes.append(current)
        self._write(sample)
        self.latest = sample
        self.samples += 1
        return sample

    def _scrape(self, base_url: str) -> dict[str, Any]:
        try:
            text = self._http.get(base_url.rstrip("/") + "/metrics").text
        except httpx.HTTPError:
            return {}
        found: dict[str, Any] = {"circuits": {}, "by_status": {}, "buckets": {}}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "sut_circuit_state":
                    found["circuits"][s.labels["circuit"]] = STATE_NAME.get(int(s.value), "unknown")
                elif s.name == "sut_fault_active" and s.value == 1.0:
                    found["fault"] = s.labels["mode"]
                elif s.name == "sut_api_requests_total" and s.labels.get("route") == "/events":
                    found["by_status"][s.labels["status"]] = s.value
                elif (
                    s.name == "sut_api_request_seconds_bucket"
                    and s.labels.get("route") == "/events"
                ):
                    found["buckets"][float(s.labels["le"])] = s.value
        return found

    def over_last(self, seconds: float) -> dict[str, Any]:
        """The API's rates and percentiles over (about) the last ``seconds``; {} before data."""
        scrapes = list(self._scrapes)
        if len(scrapes) < 2:
            return {}
        latest = scrapes[-1]
        start = next(
            (s for s in reversed(scrapes[:-1]) if latest["t"] - s["t"] >= seconds), scrapes[0]
        )
        return api_between(start, latest)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"))
        with self._lock, open(self.path, "a") as handle:
            handle.write(line + "\n")


def api_between(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """The API's rates and percentiles between two scrapes of its cumulative counters."""
    if previous is None or len(current) <= 1:
        return {}
    seconds = max(1e-6, current["t"] - previous["t"])
    by_status = {
        status: count - previous.get("by_status", {}).get(status, 0)
        for status, count in current.get("by_status", {}).items()
    }
    total = sum(by_status.values())
    buckets = {
        le: count - previous.get("buckets", {}).get(le, 0)
        for le, count in sorted(current.get("buckets", {}).items())
    }
    window: dict[str, Any] = {
        "requests": total,
        "rps": round(total / seconds, 2),
        "byStatus": {k: v for k, v in by_status.items() if v},
        "errorRate": round(sum(v for k, v in by_status.items() if k.startswith("5")) / total, 4)
        if total
        else 0.0,
    }
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        window[f"{name}Ms"] = _bucket_percentile(buckets, q)
    return window


def _bucket_percentile(cumulative: dict[float, float], q: float) -> float | None:
    """The upper edge (ms) of the bucket holding the q-quantile, from cumulative counts."""
    if not cumulative:
        return None
    total = max(cumulative.values())
    if total <= 0:
        return None
    for le, count in sorted(cumulative.items()):
        if count >= q * total:
            return None if le == float("inf") else round(le * 1000, 1)
    return None


def _worst(a: str | None, b: str) -> str:
    order = ["closed", "half_open", "open"]
    if a is None or a not in order:
        return b
    return a if b not in order or order.index(a) >= order.index(b) else b


def read_timeline(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / TIMELINE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
