"""Messages no API check stands in front of, and consumers that die on them.

Another producer (or a hand-edited redrive) can put anything on the queue; a message
that kills its consumer must not circle forever. These steps talk to SQS directly.
"""

from __future__ import annotations

import time
import uuid

from pytest_bdd import given, parsers, then, when

from gameday.chaos import context
from gameday.chaos.workers.actions import pause_workers
from scenarios.world import World, poll
from system_under_test import queues

#: A consumer that dies on a message gives it back after this long (its visibility).
CONSUMER_VISIBILITY_S = 1
#: How many receives the scenario's dying consumer makes at most before judging.
MAX_CONSUMER_RECEIVES = 5


def _worker_restarts(world: World) -> int:
    parts = context.stack(world.configuration)["parts"]
    return sum(int(p.get("restarts", 0)) for n, p in parts.items() if n.startswith("worker-"))


def _send_raw(world: World, body: str) -> dict[str, str]:
    sqs = world.system.aws("sqs")
    sqs.send_message(QueueUrl=world.system.resources["queue_url"], MessageBody=body)
    return {"body": body}


def _in_dlq(world: World, body: str) -> bool:
    """Whether a message with ``body`` is in the DLQ (peeked, then released at once)."""
    sqs = world.system.aws("sqs")
    url = world.system.resources["dlq_url"]
    handles: list[str] = []
    try:
        for _ in range(20):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5)
            messages = got.get("Messages", [])
            handles += [m["ReceiptHandle"] for m in messages]
            if not messages:
                return False
            if any(m["Body"] == body for m in messages):
                return True
        return False
    finally:
        queues.release(sqs, url, handles)


@when("a message that is not an order envelope is sent straight to the queue")
def malformed_message_sent(world: World) -> None:
    world.facts["restarts_before"] = _worker_restarts(world)
    world.facts["raw"] = _send_raw(world, f"not an order envelope {uuid.uuid4().hex}")


@then(parsers.parse("it is dead-lettered within the {name} objective"))
def raw_message_dead_lettered(world: World, name: str) -> None:
    (objective,) = world.catalogue.slo(name).objectives
    limit = float(objective.value or 0)
    raw = world.facts["raw"]
    poll(
        lambda: _in_dlq(world, raw["body"]),
        limit,
        f"the malformed message in the DLQ (the {name} objective: {limit:g} s)",
        every=0.5,
    )


@then("no worker was restarted")
def no_worker_restarted(world: World) -> None:
    restarts = _worker_restarts(world) - world.facts["restarts_before"]
    assert restarts == 0, f"workers were restarted {restarts} times (objective: 0)"


@given("the workers are paused")
def workers_paused(world: World) -> None:
    world.facts["paused"] = pause_workers(configuration=world.configuration)


@when(parsers.parse("a consumer receives a message {count:d} times and dies on it each time"))
def consumer_dies_on_message(world: World, count: int) -> None:
    """Receive without deleting, as a consumer that crashes mid-message does. Stops once
    SQS moved the message away, or it was handed out well past ``count`` times (SQS's own
    receive count, so a receive by anyone else counts too)."""
    raw = _send_raw(world, f"kills its consumer {uuid.uuid4().hex}")
    sqs = world.system.aws("sqs")
    url = world.system.resources["queue_url"]
    receives = 0
    deadline = time.monotonic() + (MAX_CONSUMER_RECEIVES + 2) * (CONSUMER_VISIBILITY_S + 2)
    while receives < MAX_CONSUMER_RECEIVES and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=CONSUMER_VISIBILITY_S + 1,
            VisibilityTimeout=CONSUMER_VISIBILITY_S,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        ours = [m for m in got if m["Body"] == raw["body"]]
        if got and not ours:  # another order: give it back at once
            queues.release(sqs, url, [m["ReceiptHandle"] for m in got])
        if ours:
            receives = int(ours[0]["Attributes"]["ApproximateReceiveCount"])
        elif receives >= count and _in_dlq(world, raw["body"]):
            break
    world.facts.update(raw=raw, receives=receives, expected_receives=count)


@then("the queue has moved it to the dead-letter queue")
def queue_moved_it(world: World) -> None:
    raw, receives = world.facts["raw"], world.facts["receives"]
    expected = world.facts["expected_receives"]
    assert receives >= expected, f"the message was handed out only {receives} times"
    assert _in_dlq(world, raw["body"]), (
        f"the message was received {receives} times and is still not in the DLQ "
        f"(objective: dead-lettered after {expected} receives)"
    )
    assert receives == expected, (
        f"the message was handed out {receives} times before the DLQ took it "
        f"(objective: {expected})"
    )
