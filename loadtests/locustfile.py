"""Locust load profiles for the reference system: ``locust -f loadtests/locustfile.py``.

Open model: one ``OrderTraffic`` user drives a profile's schedule (k6's
ramping-arrival-rate): each request starts at its intended time on its own
greenlet, whatever earlier responses take, up to the profile's
``maxConcurrency`` in flight; arrivals past that are dropped and counted.
Latency is measured from the intended start (no coordinated omission) into an
HDR histogram. Every 202 is recorded as an acked id for the ledger.

Responses the story expects count as successes in Locust's statistics: 429
(shed under a spike), 409 and replayed 202s (duplicate submits, sequential or
three at once), 422 for a key reused with another payload. Anything else fails.
Configuration comes from the environment (``gameday load`` sets it):
GAMEDAY_PROFILE, GAMEDAY_PROFILES_FILE, GAMEDAY_PROFILE_SCALE, GAMEDAY_API_KEY,
GAMEDAY_RUN_DIR, GAMEDAY_SEED.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Pool
from locust import FastHttpUser, events, task

from gameday.measure.collect import POISON_FILE
from gameday.measure.ledger import AckedIds
from gameday.measure.verdict import Measurements
from loadtests.profiles import PROFILES_FILE, Profile, get_profile

#: Answers each kind of request is meant to get; anything else is a Locust failure.
EXPECTED = {
    "valid": {202, 429},
    "poison": {202, 429},  # accepted by the API; the worker dead-letters it
    "duplicate": {202, 409, 429},  # replayed, or still in flight
    "burst_duplicate": {202, 409, 429},
    "key_reuse": {422, 429},
}


class LoadRun:
    """This process's share of the run: schedule, measurements, acked ids."""

    def __init__(self) -> None:
        profiles = Path(os.environ.get("GAMEDAY_PROFILES_FILE", str(PROFILES_FILE)))
        self.profile: Profile = get_profile(os.environ.get("GAMEDAY_PROFILE", "steady"), profiles)
        scale = float(os.environ.get("GAMEDAY_PROFILE_SCALE", "1"))
        if scale != 1:
            self.profile = self.profile.scaled(scale)
        self.api_key = os.environ.get("GAMEDAY_API_KEY", "")
        self.run_dir = Path(os.environ.get("GAMEDAY_RUN_DIR", "reports/output/runs/locust"))
        self.measurements = Measurements()
        self.acked = AckedIds(self.run_dir)
        self.poison = AckedIds(self.run_dir, POISON_FILE)
        self.sent: list[tuple[dict[str, Any], str]] = []  # for duplicate submits
        self.rng = random.Random(int(os.environ.get("GAMEDAY_SEED", "0")) or None)  # noqa: S311

    def kind(self) -> str:
        kinds, weights = zip(*self.profile.mix.items(), strict=True)
        choice = self.rng.choices(kinds, weights)[0]
        needs_history = choice in ("duplicate", "key_reuse")
        return "valid" if needs_history and not self.sent else choice

    def save(self) -> None:
        self.acked.close()
        self.poison.close()
        self.measurements.save(self.run_dir)


RUN: LoadRun | None = None


@events.test_start.add_listener
def _start(environment: Any, **_kwargs: Any) -> None:
    global RUN  # noqa: PLW0603 (one load run per Locust process)
    RUN = LoadRun()


@events.test_stop.add_listener
def _stop(environment: Any, **_kwargs: Any) -> None:
    if RUN is not None:
        RUN.save()


class OrderTraffic(FastHttpUser):
    """Drives the whole open-model schedule; run one of it (``-u 1``)."""

    concurrency = 200  # geventhttpclient connections; the profile caps what is in flight

    @task
    def run_schedule(self) -> None:
        run = RUN
        assert run is not None, "test_start did not run"
        pool = Pool(run.profile.max_concurrency)
        began = time.monotonic()
        for offset in run.profile.intended_starts():
            intended = began + offset
            delay = intended - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            if pool.full():
                run.measurements.count("load.dropped")
                continue
            run.measurements.count("load.started")
            pool.spawn(self._send, run, run.kind(), intended)
        pool.join(timeout=60)
        self.environment.runner.quit()

    def _send(self, run: LoadRun, kind: str, intended: float) -> None:
        if kind in ("duplicate", "key_reuse"):
            order, key = run.rng.choice(run.sent)
            if kind == "key_reuse":  # same key, another payload: the API must refuse it
                order = {**order, "amount": order["amount"] + 1}
            self._post(run, order, key, kind, intended)
            return
        order = {
            "orderId": f"load-{uuid.uuid4().hex[:16]}",
            "amount": 25.0,
            "currency": "XXX" if kind == "poison" else "USD",
        }
        key = f"key-{order['orderId']}"
        if kind == "burst_duplicate":  # the same submit three times at once
            burst = [gevent.spawn(self._post, run, order, key, kind, intended) for _ in range(3)]
            gevent.joinall(burst, timeout=60)
            return
        self._post(run, order, key, kind, intended)

    def _post(
        self, run: LoadRun, order: dict[str, Any], key: str, kind: str, intended: float
    ) -> None:
        headers = {"X-Api-Key": run.api_key, "Idempotency-Key": key}
        with self.client.post(
            "/events",
            json=order,
            headers=headers,
            name=f"POST /events ({kind})",
            catch_response=True,
        ) as response:
            latency_ms = (time.monotonic() - intended) * 1000
            status = response.status_code or 0
            m = run.measurements
            m.count("ingest.requests")
            m.count("ingest.non_5xx", status < 500)
            m.count("ingest.not_429", status != 429)
            m.count(f"load.status.{status}")
            if status == 202:
                m.latency("ingest.latency_ms").record_ms(latency_ms)
                run.acked.record(order["orderId"])
                if kind == "poison":
                    run.poison.record(order["orderId"])
                if kind in ("valid", "poison"):
                    run.sent.append((order, key))
            if status in EXPECTED[kind]:
                response.success()
            else:
                response.failure(f"unexpected {status} for {kind}")
