"""Load profiles, circuits, workers, the queue and the DLQ (the chaos activities)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from chaoslib.exceptions import ActivityFailed
from pytest_bdd import parsers, then, when

from gameday.chaos.api.actions import PATIENCE_SECONDS, expect_circuit, submit_orders
from gameday.chaos.load.actions import start_load, wait_for_load
from gameday.chaos.processes.actions import kill_process
from gameday.chaos.queue.actions import (
    make_sqs_unavailable,
    redrive_dlq,
    restore_sqs,
    wait_for_drain,
)
from gameday.chaos.workers.actions import expect_consumption_paused, kill_worker
from gameday.chaos.workers.probes import workers_alive
from gameday.measure.verdict import Measurements
from scenarios.experiment_files import experiment, slow_api_under_traffic
from scenarios.world import World, new_order, poll

LOAD_TIMEOUT_S = 300
EXPERIMENT_TIMEOUT_S = 300
CRASH_SPACING_S = 1.5  # traffic between two kills (pacing, not a wait for an outcome)
BURST = 40  # orders sent at once, far past the rate limit's burst
OUTAGE_EXPIRY_S = 60  # an injected SQS outage ends by itself even if the step dies


@when(parsers.parse("the {profile} load profile runs at time scale {scale:g}"))
def load_profile_runs(world: World, profile: str, scale: float) -> None:
    start_load(profile, time_scale=scale, configuration=world.configuration)
    world.facts["load"] = wait_for_load(LOAD_TIMEOUT_S, configuration=world.configuration)
    # The load generator's own count of 202s (its statistics, not the acked-ids file the
    # ledger reads): every one of them must be accounted for.
    counters = Measurements.load(world.run_dir).counters
    accepted = int(counters.get("load.status.202", 0))
    assert accepted > 0, f"the {profile} profile got no order accepted: {dict(counters)}"
    world.sent += accepted


@when(parsers.parse("{count:d} orders arrive while the downstream is slow"))
@when(parsers.parse("{count:d} orders arrive while the downstream fails"))
def orders_arrive_during_fault(world: World, count: int) -> None:
    world.facts["statuses"] = world.send([new_order() for _ in range(count)])


@contextmanager
def expected() -> Iterator[None]:
    """A chaos activity's failed expectation, as the Then step's failed assertion."""
    try:
        yield
    except ActivityFailed as exc:
        raise AssertionError(str(exc)) from None


@then(parsers.parse("the {circuit} circuit opens within {seconds:d} seconds"))
def circuit_opens(world: World, circuit: str, seconds: int) -> None:
    with expected():
        expect_circuit("open", circuit, seconds, configuration=world.configuration)


@then(parsers.parse("the {circuit} circuit closes within {seconds:d} seconds"))
def circuit_closes(world: World, circuit: str, seconds: int) -> None:
    with expected():
        expect_circuit("closed", circuit, seconds, configuration=world.configuration)


@then(parsers.parse("the workers stop receiving for {seconds:d} seconds while it is open"))
def consumption_pauses(world: World, seconds: int) -> None:
    with expected():
        expect_consumption_paused(seconds, configuration=world.configuration)


@then(parsers.parse("the queue drains within {seconds:d} seconds"))
@when(parsers.parse("the queue drains within {seconds:d} seconds"))
def queue_drains(world: World, seconds: int) -> None:
    wait_for_drain(seconds, configuration=world.configuration)


@when("the dead letters of exhausted retries are redriven")
def redrive(world: World) -> None:
    world.facts["redrive"] = redrive_dlq("MAX_RECEIVES", 1000, configuration=world.configuration)


@when(parsers.parse("{worker} is killed while {count:d} orders arrive"))
def worker_killed_under_traffic(world: World, worker: str, count: int) -> None:
    orders = [new_order() for _ in range(count)]
    first, rest = orders[: count // 2], orders[count // 2 :]
    world.send(first)
    world.facts["killed"] = kill_worker(worker, configuration=world.configuration)
    world.send(rest)


@then(parsers.parse("{count:d} workers are running again within {seconds:d} seconds"))
def workers_running(world: World, count: int, seconds: int) -> None:
    poll(lambda: workers_alive(world.configuration) >= count, seconds, f"{count} live workers")


@then("a burst beyond the rate limit is answered 429 with Retry-After")
def burst_is_shed(world: World) -> None:
    orders = [new_order() for _ in range(BURST)]
    with ThreadPoolExecutor(max_workers=BURST // 2) as pool:
        answers = list(pool.map(lambda o: world.system.post(o, retry_429=False), orders))
    shed = [a for a in answers if a.status_code == 429]
    codes = sorted({a.status_code for a in answers})
    assert shed, f"{BURST} orders at once were all answered {codes}: nothing was shed"
    for answer in shed:
        assert int(answer.headers.get("Retry-After", "0")) >= 1, "a 429 without Retry-After"
        assert answer.json()["error"]["code"] == "RATE_LIMITED", answer.text[:200]
    accepted = [o for o, a in zip(orders, answers, strict=True) if a.status_code == 202]
    assert accepted, f"the rate limit's burst let no order of {BURST} through: {codes}"
    for order in accepted:
        world.record_acked(order["orderId"])
    world.sent += len(accepted)


def _orders_at_once(world: World, count: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """``count`` orders sent together (each with its key, no 429 retry), answers timed."""
    orders = [new_order() for _ in range(count)]

    def send(order: dict[str, Any]) -> tuple[Any, float]:
        started = time.monotonic()
        key = f"key-{order['orderId']}"
        answer = world.system.post(order, headers={"Idempotency-Key": key}, retry_429=False)
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        return orders, list(pool.map(send, orders))


@when(parsers.parse("the backend stops answering while {count:d} orders arrive at once"))
def backend_stops(world: World, count: int) -> None:
    """SIGSTOP the embedded backend (SQS, DynamoDB and SSM hang), send orders, resume it."""
    pid = int(world.system.status["parts"]["backend"]["pid"])
    os.kill(pid, signal.SIGSTOP)
    try:
        orders, timed = _orders_at_once(world, count)
    finally:
        os.kill(pid, signal.SIGCONT)
    world.facts.update(outage_orders=orders, outage_answers=timed)


@when(parsers.parse("SQS refuses new messages while {count:d} orders arrive at once"))
def sqs_refuses(world: World, count: int) -> None:
    """SendMessage answers 503 (DynamoDB and SSM still answer), orders are sent, SQS is back."""
    make_sqs_unavailable(OUTAGE_EXPIRY_S, configuration=world.configuration)
    try:
        orders, timed = _orders_at_once(world, count)
    finally:
        restore_sqs(configuration=world.configuration)
    world.facts.update(outage_orders=orders, outage_answers=timed)


@then(
    parsers.parse(
        "every order sent during the outage is answered 503 with Retry-After within {seconds:g} s"
    )
)
def outage_answers(world: World, seconds: float) -> None:
    timed = world.facts["outage_answers"]
    assert timed, "no order was sent during the outage"
    wrong = [(a.status_code, a.text[:120]) for a, _ in timed if a.status_code != 503]
    assert not wrong, f"answers during the outage that were not 503: {wrong[:5]}"
    slow = [round(took, 1) for _, took in timed if took > seconds]
    assert not slow, f"503s that took longer than {seconds:g} s: {slow}"
    for answer, _ in timed:
        assert int(answer.headers.get("Retry-After", "0")) >= 1, "a 503 without Retry-After"
        assert answer.json()["error"]["code"], "a 503 without the JSON error envelope"


@when("the refused orders are retried with their Idempotency-Keys")
def retry_refused(world: World) -> None:
    # a client waits what the 503 said (the API's circuit may still be open), and a request
    # the API gave up on may still hold its key in flight: 409, retry after
    waits = [int(a.headers.get("Retry-After", "0")) for a, _ in world.facts["outage_answers"]]
    time.sleep(min(max(waits, default=0), PATIENCE_SECONDS))
    statuses = world.send(world.facts["outage_orders"], retry_409=True)
    world.facts["retry_statuses"] = statuses


@then("every retried order is accepted")
def retried_accepted(world: World) -> None:
    statuses = world.facts["retry_statuses"]
    assert statuses and all(s == 202 for s in statuses), f"retries answered {statuses}"


@when(
    parsers.parse("an experiment slows the API by {latency:d} ms under the {guardrail} guardrail")
)
def guarded_experiment(world: World, latency: int, guardrail: str) -> None:
    path = _slow_api_experiment(world.run_dir, latency, guardrail)
    run_dir = world.run_dir / "experiment-run"
    env = {**os.environ, "GAMEDAY_STATE_DIR": str(world.system.state_dir)}
    started = time.monotonic()
    command = [sys.executable, "-m", "gameday", "run", str(path), "--run-dir", str(run_dir)]
    with subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=EXPERIMENT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # SIGTERM: gameday run stops Chaos Toolkit and Locust and runs the rollbacks
            process.terminate()
            stdout, stderr = process.communicate(timeout=EXPERIMENT_TIMEOUT_S)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    world.facts.update(
        run=result, run_seconds=time.monotonic() - started, experiment_dir=run_dir / path.stem
    )


def _slow_api_experiment(folder: Path, latency: int, guardrail: str) -> Path:
    controls = {"guardrails": [guardrail], "grace_seconds": 1, "slos": [guardrail]}
    built = experiment(
        slow_api_under_traffic(latency),
        controls,
        title="A slowed API under a latency guardrail",
        description="The guardrail must abort it; the rollbacks must clear the fault.",
    )
    path = folder / "guarded-slow-api.yaml"
    path.write_text(yaml.safe_dump(built, sort_keys=False))
    return path


@then(parsers.parse("the run is aborted with exit code {code:d} within {seconds:d} seconds"))
def run_aborted(world: World, code: int, seconds: int) -> None:
    result = world.facts["run"]
    assert result.returncode == code, (
        f"gameday run exited {result.returncode}: {result.stdout[-800:]} {result.stderr[-800:]}"
    )
    assert world.facts["run_seconds"] < seconds, f"it took {world.facts['run_seconds']:.0f} s"


@then("its rollbacks ran")
def rollbacks_ran(world: World) -> None:
    import json

    journal = json.loads((world.facts["experiment_dir"] / "journal.json").read_text())
    rollbacks = journal.get("rollbacks") or []
    assert rollbacks, "no rollback ran"
    failed = [r["activity"]["name"] for r in rollbacks if r.get("status") != "succeeded"]
    assert not failed, f"rollbacks that did not succeed: {failed}"


@then("no fault is left switched on")
def no_fault_left(world: World) -> None:
    from gameday.chaos.faults.probes import active_fault

    found = active_fault(world.configuration)
    assert found == "none", f"the API still applies {found!r}"


@when(
    parsers.parse(
        "{count:d} orders arrive from patient clients while the API is killed {api_kills:d} "
        "times and the downstream once"
    )
)
def orders_through_crashes(world: World, count: int, api_kills: int) -> None:
    """Clients retry with the same Idempotency-Key until accepted; processes die meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(submit_orders, count, patient=True, configuration=world.configuration)
        restarts = []
        for name in ["api"] * api_kills + ["downstream"]:
            time.sleep(CRASH_SPACING_S)  # let traffic flow between kills
            restarts.append(kill_process(name, configuration=world.configuration))
        statuses = sending.result(timeout=PATIENCE_SECONDS * count)
    world.sent += count
    world.facts.update(restarts=restarts, answers=statuses)


@then(parsers.parse("every killed process was healthy again within {seconds:g} s"))
def processes_back(world: World, seconds: float) -> None:
    restarts = world.facts["restarts"]
    assert restarts, "no process was killed"
    slow = [(r["process"], r["restartSeconds"]) for r in restarts if r["restartSeconds"] > seconds]
    assert not slow, f"back later than {seconds:g} s: {slow}"


@then("every order was accepted and applied exactly once")
def accepted_and_applied(world: World) -> None:
    answers = world.facts["answers"]
    assert set(answers) == {"202"}, f"not every order was accepted in the end: {answers}"
    report = world.ledger()
    assert report.acked >= world.sent > 0, f"{report.acked} acked of {world.sent} sent"
    assert report.applied == report.acked, (
        f"acked {report.acked}, applied {report.applied}, dead-lettered {report.dead_lettered}"
    )
    assert report.lost == report.duplicated == report.unexpected == 0, report.samples
