"""`gameday bench backend`: stock moto against our embedded backend, in one run.

Three servers run side by side on 127.0.0.1, each its own process:
stock ``moto.server`` (werkzeug's development server), our SQS fast path on
that same werkzeug server, and our backend as `gameday up` starts it (fast
path on waitress). The middle column separates what the fast path buys from
what the WSGI server buys.

Each figure is one client thread making one kind of call for a fixed time
against a queue holding ``depth`` messages. Receive+delete keeps the depth
constant: before each timed ReceiveMessage(10)+DeleteMessageBatch it sends
ten messages (untimed) to the back of the queue. The machine is noisy, so each
figure is the median of ``ROUNDS`` short slots taken in turn across depths.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from gameday import settings as names
from gameday.errors import EXIT_BREACHED, EXIT_OK, HarnessError
from gameday.settings import Settings
from gameday.stack.supervisor import free_port, probe_http

DEPTH_RATIO_TARGET = 0.80
SEND_SPEEDUP_TARGET = 1.5
MIN_OPS = 1
#: Each figure is the median of this many slots, visiting every depth in turn.
ROUNDS = 6


@dataclass
class Server:
    label: str
    variant: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    figures: dict[str, dict[int, float]] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://{names.LOOPBACK}:{self.port}"


def servers() -> list[Server]:
    return [
        Server("stock moto", "stock"),
        Server("fast path on werkzeug", "fast-werkzeug"),
        Server("gameday backend", "gameday"),
    ]


def backlog_queue(depth: int) -> str:
    return f"bench-backlog-{depth}"


def main(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    try:
        depths = sorted({int(d) for d in args.depths.split(",")})
    except ValueError:
        raise HarnessError(
            f"--depths {args.depths!r}: give whole numbers like 0,1000,10000"
        ) from None
    if not depths or depths[0] < 0 or args.seconds <= 0:
        raise HarnessError("--depths must be non-negative and --seconds positive")
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", file=err, flush=True)

    fleet = servers()
    try:
        progress(f"starting {len(fleet)} servers, seeding backlogs of {depths}")
        for server in fleet:
            _start(server, depths)
        for server in fleet:
            progress(f"measuring {server.label} ({server.endpoint})")
            server.figures = measure(server.endpoint, depths, args.seconds, progress)
    finally:
        for server in fleet:
            _stop(server)
    verdicts = print_table(fleet, depths, out)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "depths": depths,
                    "seconds": args.seconds,
                    "servers": {s.label: s.figures for s in fleet},
                    "targets": verdicts,
                },
                handle,
                indent=2,
            )
    return EXIT_OK if all(v["passed"] for v in verdicts) else EXIT_BREACHED


def _start(server: Server, depths: list[int]) -> None:
    argv = [
        sys.executable,
        "-m",
        "gameday.bench.seeded_backend",
        "--variant",
        server.variant,
        "--port",
        str(server.port),
    ]
    for depth in depths:
        argv += ["--seed", f"{backlog_queue(depth)}={depth}"]
    server.process = subprocess.Popen(  # noqa: S603 (our interpreter, fixed module)
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not probe_http(server.endpoint + "/moto-api/", timeout=0.5):
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise HarnessError(f"{server.label} did not start on {server.endpoint}")
        time.sleep(0.05)


def _stop(server: Server) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


def _clients(endpoint: str) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1}, read_timeout=120)
    kwargs: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "config": config,
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
    }
    return boto3.client("sqs", **kwargs), boto3.client("dynamodb", **kwargs)


def rate(op: Callable[[], object], seconds: float, units: int = 1) -> float:
    """Operations (times ``units``) per second of the time ``op`` spent.

    ``op`` may return a float: the seconds it wants counted (excluding its own setup).
    """
    counted = 0.0
    done = 0
    wall_deadline = time.monotonic() + seconds * 4 + 30
    while (counted < seconds or done < MIN_OPS) and time.monotonic() < wall_deadline:
        started = time.perf_counter()
        timed = op()
        counted += timed if isinstance(timed, float) else time.perf_counter() - started
        done += 1
    return done * units / counted


def measure(
    endpoint: str, depths: list[int], seconds: float, progress: Callable[[str], None]
) -> dict[str, dict[int, float]]:
    """Median over ``ROUNDS`` rounds that visit every depth in turn (the machine is noisy)."""
    sqs, dynamodb = _clients(endpoint)
    samples: dict[str, dict[int, list[float]]] = {
        kind: {depth: [] for depth in depths} for kind in ("send", "receive_delete", "attributes")
    }
    body = "x" * 256
    slot = seconds / ROUNDS
    _warm_up(sqs, body)
    for round_ in range(ROUNDS):
        # Alternate the visiting order so drift over the run favours no depth.
        for depth in depths if round_ % 2 == 0 else depths[::-1]:
            url = sqs.get_queue_url(QueueName=backlog_queue(depth))["QueueUrl"]
            for kind, value in _measure_queue(sqs, url, body, slot).items():
                samples[kind][depth].append(value)
    figures = {
        kind: {depth: statistics.median(values) for depth, values in by_depth.items()}
        for kind, by_depth in samples.items()
    }
    for depth in depths:
        progress(
            f"  depth {depth:>6}: send {figures['send'][depth]:7.1f}/s, receive+delete "
            f"{figures['receive_delete'][depth]:7.1f} msg/s, "
            f"attributes {figures['attributes'][depth]:7.1f}/s"
        )
    figures["dynamodb_put"] = {0: _dynamodb_rate(dynamodb, seconds)}
    return figures


def _measure_queue(sqs: Any, url: str, body: str, seconds: float) -> dict[str, float]:
    attributes = rate(
        lambda: sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ),
        seconds,
    )

    def receive_delete() -> float:
        # Ten in at the back (untimed), ten out of the front: the depth holds.
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)]
        )
        started = time.perf_counter()
        _receive_and_delete(sqs, url, 10)
        return time.perf_counter() - started

    receive = rate(receive_delete, seconds, units=10)
    # Last, as it grows the queue a little past its depth; drained again below.
    sent = 0

    def send() -> None:
        nonlocal sent
        sqs.send_message(QueueUrl=url, MessageBody=body)
        sent += 1

    send_rate = rate(send, seconds)
    _drain(sqs, url, sent)
    return {"send": send_rate, "receive_delete": receive, "attributes": attributes}


def _receive_and_delete(sqs: Any, url: str, most: int) -> int:
    """One ReceiveMessage and one DeleteMessageBatch; returns how many were taken."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=most).get("Messages", [])
    if got:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return len(got)


def _drain(sqs: Any, url: str, count: int) -> None:
    """Take ``count`` messages off the front so the queue is back at its depth."""
    while count > 0:
        taken = _receive_and_delete(sqs, url, min(10, count))
        if not taken:
            return
        count -= taken


def _warm_up(sqs: Any, body: str) -> None:
    """First calls import and build moto's handlers; keep them out of the figures."""
    url = sqs.create_queue(QueueName=f"bench-warmup-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for _ in range(20):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    _drain(sqs, url, 20)
    sqs.delete_queue(QueueUrl=url)


def _dynamodb_rate(dynamodb: Any, seconds: float) -> float:
    table = f"bench-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    counter = iter(range(10**9))

    def put() -> None:
        dynamodb.put_item(
            TableName=table,
            Item={"id": {"S": f"k{next(counter)}"}, "status": {"S": "INPROGRESS"}},
            ConditionExpression="attribute_not_exists(id)",
        )

    return rate(put, seconds)


_CALLS = (
    ("send", "SQS SendMessage /s"),
    ("receive_delete", "SQS ReceiveMessage+DeleteMessageBatch msg/s"),
    ("attributes", "SQS GetQueueAttributes /s"),
)


def print_table(fleet: list[Server], depths: list[int], out: TextIO) -> list[dict[str, Any]]:
    stock, ours = fleet[0], fleet[-1]
    width = max(len(s.label) for s in fleet) + 2
    print("\nOne client thread per figure; all servers measured in this run.\n", file=out)
    header = f"{'':<46}" + "".join(f"{s.label:>{width}}" for s in fleet) + f"{'ours/stock':>12}"
    print(header, file=out)
    verdicts: list[dict[str, Any]] = []
    for key, title in _CALLS:
        print(title, file=out)
        for depth in depths:
            row = f"  depth {depth:<38}" + "".join(
                f"{s.figures[key][depth]:>{width}.1f}" for s in fleet
            )
            row += f"{ours.figures[key][depth] / stock.figures[key][depth]:>11.2f}x"
            print(row, file=out)
        if len(depths) > 1:
            lo, hi = depths[0], depths[-1]
            ratios = [s.figures[key][hi] / s.figures[key][lo] for s in fleet]
            print(
                f"  {f'depth {hi} / depth {lo}':<44}" + "".join(f"{r:>{width}.0%}" for r in ratios),
                file=out,
            )
            verdicts.append(
                {
                    "target": f"{key}: depth {hi} >= {DEPTH_RATIO_TARGET:.0%} of depth {lo}",
                    "measured": round(ratios[-1], 3),
                    "passed": ratios[-1] >= DEPTH_RATIO_TARGET,
                }
            )
    put = [s.figures["dynamodb_put"][0] for s in fleet]
    print("DynamoDB conditional PutItem /s", file=out)
    print(
        f"  {'':<44}" + "".join(f"{p:>{width}.1f}" for p in put) + f"{put[-1] / put[0]:>11.2f}x",
        file=out,
    )
    lo = depths[0]
    speedup = ours.figures["send"][lo] / stock.figures["send"][lo]
    verdicts.append(
        {
            "target": f"send at depth {lo}: >= {SEND_SPEEDUP_TARGET}x stock moto",
            "measured": round(speedup, 2),
            "passed": speedup >= SEND_SPEEDUP_TARGET,
        }
    )
    print("\nTargets", file=out)
    for v in verdicts:
        print(f"  {'PASS' if v['passed'] else 'FAIL'}  {v['target']}: {v['measured']}", file=out)
    return verdicts
