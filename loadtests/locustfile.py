"""Locust load profiles for the reference system: ``locust -f loadtests/locustfile.py``.

Open model: one ``OrderTraffic`` user per process drives a profile's schedule
(k6's ramping-arrival-rate): each request starts at its intended time on its
own greenlet, whatever earlier responses take, up to the profile's
``maxConcurrency`` in flight; arrivals past that are dropped and counted.
Latency is measured from the intended start (no coordinated omission) into an
HDR histogram. Every 202 is recorded as an acked id for the ledger.

Responses the story expects count as successes in Locust's statistics: 429
(shed under a spike), 409 and replayed 202s (duplicate submits, sequential or
three at once), 422 for a key reused with another payload. Anything else fails.

Distributed (``--processes N``, or ``--master`` with N ``--worker``s; run N
users): the master sends each worker a shard of the schedule, workers stream
their acked ids and measurements back in Locust's own worker reports, and the
master writes the merged run folder and stops the test when every shard is done.
Configuration comes from the master's environment (``gameday load`` sets it):
GAMEDAY_PROFILE, GAMEDAY_PROFILES_FILE, GAMEDAY_PROFILE_SCALE,
GAMEDAY_PROFILE_TIME_SCALE, GAMEDAY_API_KEY, GAMEDAY_RUN_DIR, GAMEDAY_SEED.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from gevent.event import Event
from locust import User, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from gameday.measure.histograms import slice_name
from loadtests.arrivals import ArrivalPool
from loadtests.order_client import OrderClient
from loadtests.run import Collector, LoadRun, Plan, run_dir_from_env

log = logging.getLogger("gameday.load")

#: Answers each kind of request is meant to get; anything else is a Locust failure.
EXPECTED = {
    "valid": {202, 429},
    "poison": {202, 429},  # accepted by the API; the worker dead-letters it
    "duplicate": {202, 409, 429},  # replayed, or still in flight
    "burst_duplicate": {202, 409, 429},
    "key_reuse": {422, 429},
}
PLAN_MESSAGE, SHARD_DONE_MESSAGE = "gameday_plan", "gameday_shard_done"
STOP_MESSAGE = "gameday_stop"
FLUSH_SECONDS = 2.0  # a single process writes its acked ids this often
#: On a stop (Ctrl-C, a guardrail), requests in flight get this long to finish, so every
#: order the API accepted is recorded as acked rather than showing up as "unexpected".
STOP_GRACE_SECONDS = 35.0
TIMEOUT_SECONDS = 30.0  # a request's connect and read timeouts, within STOP_GRACE_SECONDS
TICK_SECONDS = 0.001  # the scheduler's resolution (gevent's timers have about this)
MAX_WAIT_SECONDS = 0.002  # an arrival that finds no free virtual user this long is dropped


@dataclass
class _Process:
    """What this Locust process holds: its share of the run, and the run folder if it owns it."""

    run: LoadRun | None = None
    collector: Collector | None = None
    shards_pending: set[int] = field(default_factory=set)
    stopping: bool = False  # no new arrivals; requests in flight finish
    schedule_done: Event = field(default_factory=Event)


PROCESS = _Process()


@events.init.add_listener
def _init(environment: Any, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(PLAN_MESSAGE, _on_plan)
        runner.register_message(STOP_MESSAGE, _on_stop)
    elif isinstance(runner, MasterRunner):
        runner.register_message(SHARD_DONE_MESSAGE, _on_shard_done)


@events.test_start.add_listener
def _start(environment: Any, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # the master's plan (sent just before) configures this process
    plan = Plan.from_env()
    PROCESS.collector = Collector(run_dir_from_env())
    if isinstance(runner, MasterRunner):
        workers = sorted(runner.clients.ready, key=lambda c: runner.get_worker_index(c.id))
        PROCESS.shards_pending = set(range(len(workers)))
        for shard, worker in enumerate(workers):
            data = plan.for_shard(shard, len(workers)).as_dict()
            runner.send_message(PLAN_MESSAGE, data, client_id=worker.id)
        return
    PROCESS.run = LoadRun(plan)
    PROCESS.stopping = False
    PROCESS.schedule_done.clear()
    gevent.spawn(_flush_every, FLUSH_SECONDS)


@events.spawning_complete.add_listener
def _check_users(user_count: int, **_kwargs: Any) -> None:
    if PROCESS.shards_pending and user_count < len(PROCESS.shards_pending):
        log.error(
            "%d users for %d workers: run one user per worker (-u %d), or shards go unplayed",
            user_count,
            len(PROCESS.shards_pending),
            len(PROCESS.shards_pending),
        )


@events.test_stopping.add_listener
def _stopping(environment: Any, **_kwargs: Any) -> None:
    """Hold Locust's stop until the schedule has wound down (bounded), then let it proceed."""
    PROCESS.stopping = True
    runner = environment.runner
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    if isinstance(runner, MasterRunner):
        runner.send_message(STOP_MESSAGE)
        while PROCESS.shards_pending and time.monotonic() < deadline:
            gevent.sleep(0.1)
    elif PROCESS.run is not None and PROCESS.run.claimed:
        PROCESS.schedule_done.wait(timeout=max(0.0, deadline - time.monotonic()))


@events.test_stop.add_listener
def _stop(environment: Any, **_kwargs: Any) -> None:
    if PROCESS.run is not None and PROCESS.collector is not None:  # a single process
        PROCESS.collector.add("local", PROCESS.run.report())
    if PROCESS.collector is not None:
        PROCESS.collector.save()


@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    if PROCESS.run is not None:
        data["gameday"] = PROCESS.run.report()


@events.worker_report.add_listener
def _collect(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    if PROCESS.collector is not None and "gameday" in data:
        PROCESS.collector.add(client_id, data["gameday"])
        PROCESS.collector.save()  # a worker's last report may come after the master's test_stop


def _on_plan(environment: Any, msg: Any, **_kwargs: Any) -> None:
    PROCESS.run = LoadRun(Plan(**msg.data))
    PROCESS.stopping = False
    PROCESS.schedule_done.clear()


def _on_stop(environment: Any, msg: Any, **_kwargs: Any) -> None:
    PROCESS.stopping = True


def _on_shard_done(environment: Any, msg: Any, **_kwargs: Any) -> None:
    if PROCESS.collector is None:
        return
    PROCESS.collector.add(msg.node_id, msg.data["report"])
    PROCESS.collector.save()
    PROCESS.shards_pending.discard(msg.data["shard"])
    if not PROCESS.shards_pending:
        _finish(environment)


def _flush_every(seconds: float) -> None:
    while PROCESS.run is not None and PROCESS.collector is not None:
        gevent.sleep(seconds)
        PROCESS.collector.add("local", PROCESS.run.report())
        PROCESS.collector.save()


class _Ticker:
    """When the scheduler yields: at most once per TICK_SECONDS, starting all that is due.

    Waking for every arrival costs a hub iteration each (a third of the CPU at
    thousands per second); arrivals due within a tick start together instead,
    each timed from its own intended start.
    """

    def __init__(self, on_tick: Callable[[], None]) -> None:
        self.yielded = time.monotonic()
        self.on_tick = on_tick

    def wait_for(self, moment: float) -> None:
        now = time.monotonic()
        if moment > now:
            gevent.sleep(max(moment - now, TICK_SECONDS))
        elif now - self.yielded < TICK_SECONDS:
            return  # due: start it now, with the others due in this tick
        else:
            gevent.sleep(0)  # behind schedule: let requests in flight run, then go on
        self.yielded = time.monotonic()
        self.on_tick()


def _finish(environment: Any) -> None:
    """The whole schedule has been played: end a headless run, or return the web UI to idle."""
    options = environment.parsed_options
    runner = environment.runner
    gevent.spawn(runner.quit if options is None or options.headless else runner.stop)


class OrderTraffic(User):
    """Drives this process's share of the open-model schedule; run one per process."""

    @task
    def run_schedule(self) -> None:
        run = PROCESS.run
        if run is None:
            log.error("no load plan reached this process; is the master running loadtests?")
            raise StopUser()
        if run.claimed:
            raise StopUser()  # another user in this process already drives the schedule
        run.claimed = True
        pool = ArrivalPool(
            run.max_concurrency,
            self._session,
            self._send,
            max_wait=MAX_WAIT_SECONDS,
            on_drop=lambda: run.measurements.count("load.dropped"),
        )
        began = time.monotonic()
        ticker = _Ticker(pool.expire)
        for offset in run.arrivals():
            intended = began + offset
            ticker.wait_for(intended)
            if PROCESS.stopping:
                break
            run.measurements.count("load.intended")
            pool.offer(intended, run, run.kind())
        run.measurements.values["load.schedule_s"] = [time.monotonic() - began]
        pool.close(timeout=STOP_GRACE_SECONDS)
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            report = {"shard": run.plan.shard, "report": run.report()}
            runner.send_message(SHARD_DONE_MESSAGE, report)
        elif not PROCESS.stopping:
            _finish(self.environment)
        PROCESS.schedule_done.set()
        raise StopUser()

    def _session(self) -> OrderClient:
        """A virtual user's connections: one, or three for a three-at-once burst."""
        assert self.host, "locust needs --host"
        return OrderClient(self.host, self.environment.events.request, TIMEOUT_SECONDS, 3)

    def _send(self, client: OrderClient, intended: float, run: LoadRun, kind: str) -> None:
        run.measurements.count("load.started")
        # how late the scheduler started this arrival: its own share of any latency
        run.measurements.latency("load.start_lag_ms").record_ms(
            (time.monotonic() - intended) * 1000
        )
        if kind in ("duplicate", "key_reuse"):
            order, key = run.earlier_order()
            if kind == "key_reuse":  # same key, another payload: the API must refuse it
                order = {**order, "amount": order["amount"] + 1}
            self._post(client, run, order, key, kind, intended)
            return
        order = {
            "orderId": f"load-{uuid.uuid4().hex[:16]}",
            "amount": 25.0,
            "currency": "XXX" if kind == "poison" else "USD",
        }
        key = f"key-{order['orderId']}"
        if kind == "burst_duplicate":  # the same submit three times at once
            burst = [
                gevent.spawn(self._post, client, run, order, key, kind, intended) for _ in range(3)
            ]
            gevent.joinall(burst, timeout=60)
            return
        self._post(client, run, order, key, kind, intended)

    def _post(
        self,
        client: OrderClient,
        run: LoadRun,
        order: dict[str, Any],
        key: str,
        kind: str,
        intended: float,
    ) -> None:
        headers = {"X-Api-Key": run.plan.api_key, "Idempotency-Key": key}
        status, length, milliseconds, error = client.post_json("/events", order, headers)
        latency_ms = (time.monotonic() - intended) * 1000
        m = run.measurements
        m.count("ingest.requests")
        m.count("ingest.non_5xx", status < 500)
        m.count("ingest.not_429", status != 429)
        m.count(f"load.status.{status}")
        if status == 202:
            m.latency("ingest.latency_ms").record_ms(latency_ms)
            # and in its 5-second slice: the report's exact percentiles by fault phase
            m.latency(slice_name("ingest.latency_ms", time.time())).record_ms(latency_ms)
            run.acked(order["orderId"], poison=kind == "poison")
            if kind in ("valid", "poison"):
                run.remember(order, key)
        failure = None
        if status not in EXPECTED[kind]:
            failure = f"unexpected {status or error} for {kind}"
        client.report(f"POST /events ({kind})", milliseconds, length, failure)
