"""Deliberately broken variants of the reference system, to prove the scenarios catch them.

A variant is one defect a real team could ship: an idempotency check left out, a
circuit that never opens, a queue without its redrive policy. The harness injects it
when it starts the processes (``sabotage.py`` patches the system's modules in the
child, before it runs), or when it provisions, so the system's own code paths stay
clean. A variant is never on by default: ``gameday regressions`` asks for it by name,
and ``gameday up --variant NAME`` also needs the name repeated in
``--i-know-it-is-broken NAME``. While one is active, ``/health/deep``, the state file,
every run folder (``variant.json``) and every report say so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gameday.errors import HarnessError

#: Written into every run folder made while a variant is active; reports show it.
VARIANT_FILE = "variant.json"
#: The bundled scenarios module the catchers live in (pytest node ids are relative to it).
SCENARIO_MODULE = "test_resilience.py"


@dataclass(frozen=True)
class Variant:
    name: str
    defect: str  # what is broken, in one line
    protection: str  # what the healthy system does instead
    catchers: tuple[str, ...]  # scenario tests expected to fail on it (pytest names)
    parts: tuple[str, ...] = ()  # processes patched at start ("api", "worker", "downstream")
    provision: str = ""  # a change to what the harness provisions ("no_redrive")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CATALOGUE: tuple[Variant, ...] = (
    Variant(
        "api-idempotency-off",
        "the API publishes every submit; no idempotency record, no replay",
        "a retried submit is answered from the idempotency record (Powertools)",
        (
            "test_the_same_order_submitted_three_times_in_a_row",
            "test_a_key_reused_for_a_different_amount",
        ),
        parts=("api",),
    ),
    Variant(
        "worker-idempotency-off",
        "the worker calls the downstream for every copy of a message",
        "the worker's idempotency record (keyed by the producer's key) skips copies",
        ("test_the_api_publishes_a_share_of_orders_twice",),
        parts=("worker",),
    ),
    Variant(
        "circuit-never-opens",
        "the circuit breakers count failures but never open",
        "consecutive failures open the circuit; the workers stop receiving",
        ("test_the_downstream_fails_every_call",),
        parts=("api", "worker"),
    ),
    Variant(
        "worker-deletes-before-processing",
        "the worker deletes each message as soon as it receives it",
        "a message is deleted only once its effect is applied or it is dead-lettered",
        ("test_the_downstream_fails_half_the_calls",),
        parts=("worker",),
    ),
    Variant(
        "worker-acks-every-outcome",
        "the worker deletes every message it handled, failed or not",
        "failed messages are reported back (batch item failures) and redelivered",
        ("test_the_downstream_fails_half_the_calls",),
        parts=("worker",),
    ),
    Variant(
        "rate-limiter-off",
        "the API takes every request; no token bucket",
        "requests beyond the rate are answered 429 with Retry-After",
        ("test_a_burst_beyond_the_rate_limit",),
        parts=("api",),
    ),
    Variant(
        "no-redrive-policy",
        "the orders queue has no redrive policy to its DLQ",
        "SQS moves a message to the DLQ after 3 receives",
        ("test_a_message_that_kills_its_consumer_is_deadlettered_by_the_queue",),
        provision="no_redrive",
    ),
    Variant(
        "api-202-before-sqs-ack",
        "the API answers 202 and publishes in the background",
        "202 only once SQS acknowledged the message; 503 with Retry-After otherwise",
        ("test_sqs_refuses_new_messages_while_dynamodb_still_answers",),
        parts=("api",),
    ),
    Variant(
        "retries-without-backoff",
        "failed downstream calls and messages are retried at once, again and again",
        "retries back off exponentially with jitter (in the call and between receives)",
        ("test_the_downstream_fails_half_the_calls",),
        parts=("api", "worker"),
    ),
    Variant(
        "worker-crashes-on-malformed-body",
        "the worker process dies on a message that is not an order envelope",
        "a malformed message is dead-lettered at once with its error attributes",
        ("test_a_message_that_is_not_an_order_envelope",),
        parts=("worker",),
    ),
    Variant(
        "fault-expiry-ignored",
        "the fault switches never lapse: an expired fault stays on",
        "every fault carries an expiry and heals by itself after it",
        (
            "test_the_mode_fault_expires_after_seconds_seconds[slow_api-3]",
            "test_the_mode_fault_expires_after_seconds_seconds[poison_payload-3]",
        ),
        parts=("api", "worker", "downstream"),
    ),
)
BY_NAME = {variant.name: variant for variant in CATALOGUE}


def named(name: str) -> Variant:
    """The variant called ``name``; an unknown name is an error listing the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise HarnessError(
            f"no variant named {name!r}", f"the variants are: {', '.join(BY_NAME)}"
        ) from None


def confirmed(name: str | None, confirmation: str | None) -> Variant | None:
    """The variant ``gameday up`` was asked for, refused unless its name is given twice."""
    if not name:
        if confirmation:
            raise HarnessError("--i-know-it-is-broken needs --variant NAME")
        return None
    variant = named(name)
    if confirmation != name:
        raise HarnessError(
            f"--variant {name} starts a deliberately broken system ({variant.defect}); "
            "it is meant for `gameday regressions`, never for a real gameday",
            f"to start it anyway, repeat its name: --i-know-it-is-broken {name}",
        )
    return variant


def record(run_dir: Path, state: dict[str, Any]) -> None:
    """Mark a run folder made on a broken variant (a no-op on the healthy system)."""
    variant = state.get("variant")
    if variant:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / VARIANT_FILE).write_text(json.dumps(variant, indent=2) + "\n")
