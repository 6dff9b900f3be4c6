"""`gameday bench ingest|drain|faults`: the reference system against its backend's ceiling.

Each benchmark starts a private stack (its own state folder, free ports) and
measures, in the same run, what the system achieves and what the same AWS
calls achieve when made directly from Python with the same concurrency:

- ingest: POST /events (workers off, rate limit off) against the API's own
  calls per accepted event: a conditional PutItem and an UpdateItem on the
  idempotency table (Powertools) and one SendMessage. Then p99 latency at
  half the measured saturation rate, paced (open model).
- drain: a pre-filled queue drained by the workers against direct
  receive + PutItem/UpdateItem on the ledger table + DeleteMessageBatch.
- faults: seconds from writing a fault switch to seeing the behaviour change,
  at the API (``/ready``) and at the downstream (its answers).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import httpx

from gameday.errors import EXIT_BREACHED, EXIT_OK
from gameday.settings import Settings
from gameday.stack.state import aws_client
from gameday.stack.supervisor import Supervisor

Progress = Callable[[str], None]
INGEST_TARGET, DRAIN_TARGET, P99_TARGET_MS, SWITCH_P95_TARGET_S = 0.70, 0.70, 250.0, 2.0


@contextmanager
def private_stack(settings: Settings, progress: Progress, workers: int = 0) -> Iterator[Supervisor]:
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as folder:
        private = replace(
            settings,
            state_dir=Path(folder) / ".gameday",
            workers=workers,
            backend_port=0,
            api_port=0,
            downstream_port=0,
        )
        supervisor = Supervisor(
            private,
            progress,
            extra_env={
                "SUT_RATE_LIMIT_PER_SECOND": "1000000",
                "SUT_RATE_LIMIT_BURST": "1000000",
            },
        )
        supervisor.start()
        try:
            yield supervisor
        finally:
            supervisor.stop()


def _clients(state: dict[str, Any]) -> dict[str, Any]:
    from botocore.config import Config

    config = Config(max_pool_connections=64, retries={"max_attempts": 2})
    return {service: aws_client(state, service, config) for service in ("sqs", "dynamodb", "ssm")}


def _in_threads(threads: int, seconds: float, op: Callable[[int], None]) -> tuple[int, float]:
    """Run ``op`` in ``threads`` threads for ``seconds``; returns (operations, elapsed)."""
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(index: int) -> None:
        while time.monotonic() < deadline:
            op(index)
            counts[index] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    return sum(counts), time.monotonic() - started


def _order(prefix: str) -> dict[str, Any]:
    return {"orderId": f"{prefix}-{uuid.uuid4().hex[:16]}", "amount": 12.5, "currency": "USD"}


def ingest(args: argparse.Namespace, settings: Settings, out: TextIO, progress: Progress) -> int:
    threads, seconds = args.threads, args.seconds
    with private_stack(settings, progress) as supervisor:
        state = supervisor.state
        aws = _clients(state)
        resources = state["resources"]
        api = state["parts"]["api"]["endpoint"]
        key = state["api_keys"]["client"]
        body = json.dumps(_order("ceiling"))

        attributes = {
            name: {"DataType": "String", "StringValue": uuid.uuid4().hex}
            for name in ("eventId", "correlationId", "idempotencyKey")
        } | {"acceptedAt": {"DataType": "Number", "StringValue": repr(time.time())}}

        def direct(_index: int) -> None:
            key = f"bench#{uuid.uuid4().hex}"
            _record_put(aws["dynamodb"], resources["idempotency_table"], key, validation=True)
            aws["sqs"].send_message(
                QueueUrl=resources["queue_url"], MessageBody=body, MessageAttributes=attributes
            )
            _record_update(
                aws["dynamodb"], resources["idempotency_table"], key, body, validation=True
            )

        clients = [httpx.Client(timeout=30) for _ in range(threads)]
        latencies: list[float] = []
        errors = [0]

        def post(index: int) -> None:
            started = time.perf_counter()
            response = clients[index].post(
                api + "/events",
                json=_order("ingest"),
                headers={"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex},
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 202:
                errors[0] += 1

        progress(f"direct AWS calls, {threads} threads, {seconds:.0f} s")
        direct_ops, direct_s = _in_threads(threads, seconds, direct)
        progress(f"POST /events, {threads} threads, {seconds:.0f} s")
        api_ops, api_s = _in_threads(threads, seconds, post)
        ceiling, achieved = direct_ops / direct_s, api_ops / api_s
        saturated_p99 = _percentile(latencies, 99) * 1000
        paced_rate = achieved / 2
        progress(f"paced POST /events at {paced_rate:.0f}/s for {seconds:.0f} s")
        paced = _paced(lambda: post(0), paced_rate, seconds)
        for client in clients:
            client.close()
    ratio = achieved / ceiling
    p99 = _percentile(paced, 99) * 1000
    print(f"\nIngest, {threads} concurrent clients, measured in one run", file=out)
    print(
        f"  direct AWS calls per event (PutItem, SendMessage, UpdateItem): {ceiling:7.1f}/s",
        file=out,
    )
    print(
        f"  POST /events accepted (202):                              {achieved:7.1f}/s"
        f"  ({errors[0]} not 202)",
        file=out,
    )
    print(f"  ratio: {ratio:.0%} (target >= {INGEST_TARGET:.0%})", file=out)
    print(
        f"  latency at saturation: p50 {_percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {saturated_p99:.1f} ms",
        file=out,
    )
    print(
        f"  latency at {paced_rate:.0f}/s (half of saturation): p50 "
        f"{_percentile(paced, 50) * 1000:.1f} ms, p95 {_percentile(paced, 95) * 1000:.1f} ms, "
        f"p99 {p99:.1f} ms (target < {P99_TARGET_MS:.0f} ms)",
        file=out,
    )
    ok = ratio >= INGEST_TARGET and p99 < P99_TARGET_MS and errors[0] == 0
    return EXIT_OK if ok else EXIT_BREACHED


def _record_put(dynamodb: Any, table: str, key: str, *, validation: bool) -> None:
    """The conditional PutItem Powertools' idempotency makes (same expression and names)."""
    now = time.time()
    item = {
        "id": {"S": key},
        "expiration": {"N": str(int(now) + 3600)},
        "status": {"S": "INPROGRESS"},
        "in_progress_expiration": {"N": str(int((now + 30) * 1000))},
    }
    if validation:
        item["validation"] = {"S": uuid.uuid4().hex}
    dynamodb.put_item(
        TableName=table,
        Item=item,
        ConditionExpression="attribute_not_exists(#id) OR #expiry < :now OR (#status = "
        ":inprogress AND attribute_exists(#in_progress_expiry) AND "
        "#in_progress_expiry < :now_in_millis)",
        ExpressionAttributeNames={
            "#id": "id",
            "#expiry": "expiration",
            "#in_progress_expiry": "in_progress_expiration",
            "#status": "status",
        },
        ExpressionAttributeValues={
            ":now": {"N": str(int(now))},
            ":now_in_millis": {"N": str(int(now * 1000))},
            ":inprogress": {"S": "INPROGRESS"},
        },
    )


def _record_update(dynamodb: Any, table: str, key: str, data: str, *, validation: bool) -> None:
    """The UpdateItem Powertools makes when the operation succeeded."""
    expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
    names = {"#expiry": "expiration", "#response_data": "data", "#status": "status"}
    values = {
        ":expiry": {"N": str(int(time.time()) + 3600)},
        ":response_data": {"S": data},
        ":status": {"S": "COMPLETED"},
    }
    if validation:
        expression += ", #validation_key = :validation_key"
        names["#validation_key"] = "validation"
        values[":validation_key"] = {"S": uuid.uuid4().hex}
    dynamodb.update_item(
        TableName=table,
        Key={"id": {"S": key}},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def _paced(call: Callable[[], None], rate: float, seconds: float) -> list[float]:
    """Start calls at fixed intended times; latency counts from the intended start."""
    latencies: list[float] = []
    interval = 1.0 / rate
    started = time.perf_counter()
    count = int(rate * seconds)
    for n in range(count):
        intended = started + n * interval
        delay = intended - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        call()
        latencies.append(time.perf_counter() - intended)
    return latencies


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def drain(args: argparse.Namespace, settings: Settings, out: TextIO, progress: Progress) -> int:
    count, workers = args.messages, args.workers
    with private_stack(settings, progress) as supervisor:
        state = supervisor.state
        aws = _clients(state)
        resources = state["resources"]
        downstream = state["parts"]["downstream"]["endpoint"]
        progress(f"filling the queue with {count} orders")
        _fill(aws["sqs"], resources["queue_url"], count, "drain")
        progress(f"draining with {workers} workers")
        supervisor.add_workers(workers)
        with httpx.Client(timeout=30) as http:
            deadline = time.monotonic() + 600
            while http.get(downstream + "/ledger").json()["totals"]["effects"] < count:
                if time.monotonic() > deadline:
                    break
                time.sleep(1.0)
            ledger = http.get(downstream + "/ledger").json()
        # The rate between the first and the last effect: worker start-up is not draining.
        stamps = sorted(o["firstAppliedAt"] for o in ledger["orders"].values())
        applied = len(stamps)
        drained_s = stamps[-1] - stamps[0] if applied > 1 else float("inf")
        worker_rate = (applied - 1) / drained_s
        for name in [p.name for p in supervisor.parts if p.name.startswith("worker-")]:
            supervisor.stop_part(name)
        progress(f"direct receive/record/delete of {count} messages, {workers} threads")
        _fill(aws["sqs"], resources["queue_url"], count, "direct")
        direct_rate = _direct_drain(aws, resources, workers)
    ratio = worker_rate / direct_rate
    print(f"\nDrain of {count} messages, {workers} workers, measured in one run", file=out)
    print(f"  direct receive + PutItem/UpdateItem + delete:  {direct_rate:7.1f} msg/s", file=out)
    print(
        f"  workers (validation, idempotency, downstream): {worker_rate:7.1f} msg/s "
        f"({applied} applied in {drained_s:.1f} s)",
        file=out,
    )
    print(f"  ratio: {ratio:.0%} (target >= {DRAIN_TARGET:.0%})", file=out)
    return EXIT_OK if ratio >= DRAIN_TARGET and applied == count else EXIT_BREACHED


def _fill(sqs: Any, url: str, count: int, prefix: str) -> None:
    for start in range(0, count, 10):
        entries = []
        for i in range(min(10, count - start)):
            order = _order(prefix)
            envelope = {
                "eventId": uuid.uuid4().hex,
                "order": order,
                "idempotencyKey": f"bench:{order['orderId']}",
                "correlationId": uuid.uuid4().hex,
                "acceptedAt": time.time(),
            }
            entries.append({"Id": str(i), "MessageBody": json.dumps(envelope)})
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _direct_drain(aws: dict[str, Any], resources: dict[str, str], threads: int) -> float:
    sqs, dynamodb = aws["sqs"], aws["dynamodb"]
    done = [0]
    lock = threading.Lock()
    idle = threading.Event()

    def loop(_index: int) -> None:
        while not idle.is_set():
            got = sqs.receive_message(
                QueueUrl=resources["queue_url"],
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                idle.set()
                return
            for message in got:
                key = f"bench#{message['MessageId']}"
                _record_put(dynamodb, resources["ledger_table"], key, validation=False)
                _record_update(
                    dynamodb, resources["ledger_table"], key, '{"effectId": "e"}', validation=False
                )
            sqs.delete_message_batch(
                QueueUrl=resources["queue_url"],
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                ],
            )
            with lock:
                done[0] += len(got)

    started = time.monotonic()
    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=600)
    return done[0] / (time.monotonic() - started - 1.0)  # less the final empty long poll


def faults(args: argparse.Namespace, settings: Settings, out: TextIO, progress: Progress) -> int:
    trials = args.trials
    with private_stack(settings, progress) as supervisor:
        state = supervisor.state
        ssm = _clients(state)["ssm"]
        name = state["resources"]["fault_parameter"]
        api = state["parts"]["api"]["endpoint"]
        downstream = state["parts"]["downstream"]["endpoint"]
        api_s, downstream_s = [], []
        rng = random.Random(7)  # noqa: S311 (spacing of trials)
        with httpx.Client(timeout=10) as http:
            for trial in range(trials):
                progress(f"trial {trial + 1}/{trials}")
                document = {
                    "mode": "random_fail_p30",
                    "errorRate": 1.0,
                    "statusCode": 418,
                    "expiresAt": time.time() + 60,
                }
                switched = time.monotonic()
                ssm.put_parameter(
                    Name=name, Value=json.dumps(document), Type="String", Overwrite=True
                )
                seen: dict[str, float] = {}
                while len(seen) < 2 and time.monotonic() - switched < 10:
                    now = time.monotonic() - switched
                    if (
                        "api" not in seen
                        and http.get(api + "/ready").json()["faults"]["mode"] == "random_fail_p30"
                    ):
                        seen["api"] = now
                    if (
                        "downstream" not in seen
                        and http.post(
                            downstream + "/effects",
                            json={"orderId": f"probe-{trial}"},
                            headers={"Idempotency-Key": uuid.uuid4().hex},
                        ).status_code
                        == 418
                    ):
                        seen["downstream"] = now
                    time.sleep(0.02)
                api_s.append(seen.get("api", 10.0))
                downstream_s.append(seen.get("downstream", 10.0))
                ssm.put_parameter(
                    Name=name, Value=json.dumps({"mode": "none"}), Type="String", Overwrite=True
                )
                # Keep traffic flowing, as in a live system, so the caches stay warm and the
                # next switch lands at a random point of their 1 s refresh.
                settle_until = time.monotonic() + 1.5 + rng.random()
                while time.monotonic() < settle_until:
                    http.get(api + "/ready")
                    http.post(
                        downstream + "/effects",
                        json={"orderId": "warm"},
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                    time.sleep(0.02)
    api_p95, downstream_p95 = _percentile(api_s, 95), _percentile(downstream_s, 95)
    print(f"\nFault switch to observed behaviour change, {trials} trials", file=out)
    print(
        f"  API (/ready):      median {statistics.median(api_s):.2f} s, p95 {api_p95:.2f} s",
        file=out,
    )
    print(
        f"  downstream (418s): median {statistics.median(downstream_s):.2f} s, "
        f"p95 {downstream_p95:.2f} s",
        file=out,
    )
    print(f"  target: p95 < {SWITCH_P95_TARGET_S:.0f} s", file=out)
    worst = max(api_p95, downstream_p95)
    return EXIT_OK if worst < SWITCH_P95_TARGET_S else EXIT_BREACHED


def sampler(args: argparse.Namespace, settings: Settings, out: TextIO, progress: Progress) -> int:
    """Ingest throughput with and without the timeline sampler, alternating, same run."""
    from gameday.measure.sampler import TimelineSampler
    from gameday.measure.sources import ScrapeSource

    threads, seconds, rounds = args.threads, args.seconds, args.rounds
    with private_stack(settings, progress) as supervisor, tempfile.TemporaryDirectory() as folder:
        state = supervisor.state
        aws = _clients(state)
        resources = state["resources"]
        api = state["parts"]["api"]["endpoint"]
        key = state["api_keys"]["client"]
        clients = [httpx.Client(timeout=30) for _ in range(threads)]

        def post(index: int) -> None:
            clients[index].post(
                api + "/events",
                json=_order("sampled"),
                headers={"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex},
            )

        _in_threads(threads, 2, post)  # warm up
        rates: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(rounds):
            for with_sampler in (False, True) if round_ % 2 == 0 else (True, False):
                progress(f"round {round_ + 1}/{rounds}, sampler {'on' if with_sampler else 'off'}")
                timeline = None
                if with_sampler:
                    timeline = TimelineSampler(
                        Path(folder) / f"r{round_}",
                        aws["sqs"],
                        resources["queue_url"],
                        resources["dlq_url"],
                        ScrapeSource(api, {}),
                        interval=1.0,
                    )
                    timeline.start()
                done, elapsed = _in_threads(threads, seconds, post)
                if timeline is not None:
                    timeline.stop()
                rates[with_sampler].append(done / elapsed)
        for client in clients:
            client.close()
        probe = TimelineSampler(
            Path(folder) / "probe",
            aws["sqs"],
            resources["queue_url"],
            resources["dlq_url"],
            ScrapeSource(api, {}),
            interval=1.0,
        )
        started = time.perf_counter()
        for _ in range(20):
            probe.sample_once()
        sample_ms = (time.perf_counter() - started) / 20 * 1000
    without, with_ = statistics.median(rates[False]), statistics.median(rates[True])
    overhead = 1 - with_ / without
    print(f"\nSampler overhead on ingest, {rounds} alternating rounds of {seconds:.0f} s", file=out)
    print(f"  without sampler: {without:7.1f} req/s (median; {_fmt(rates[False])})", file=out)
    print(f"  with sampler:    {with_:7.1f} req/s (median; {_fmt(rates[True])})", file=out)
    print(f"  overhead: {overhead:.1%} (target < 5%)", file=out)
    print(
        f"  one sample: {sample_ms:.1f} ms wall, 2 GetQueueAttributes, 1 scrape per process",
        file=out,
    )
    return EXIT_OK if overhead < 0.05 else EXIT_BREACHED


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)
