"""The patches behind each variant, applied inside one of the system's processes.

Each function breaks one protection by replacing a name in the system's modules before
the process builds its app or poller, the way a careless change would: nothing in
``system_under_test`` knows about variants. ``apply(variant, part)`` runs the ones
meant for that part and labels ``/health/deep``.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from gameday.variants import Variant

log = logging.getLogger("gameday.variant")


def api_idempotency_off() -> None:
    from system_under_test.api import app

    _replace(app, "idempotent_function", lambda **_config: lambda accept: accept)


def worker_idempotency_off() -> None:
    from system_under_test.worker import handler

    _replace(handler, "idempotent_function", lambda apply, **_config: apply)


def circuit_never_opens() -> None:
    from system_under_test.circuit import CircuitBreaker

    original = CircuitBreaker.__init__

    def never_opening(self: CircuitBreaker, name: str, **options: Any) -> None:
        original(self, name, **{**options, "failure_threshold": 10**9})

    _replace(CircuitBreaker, "__init__", never_opening)


def worker_deletes_before_processing() -> None:
    from system_under_test.worker import poller

    original = poller.Poller.__init__

    def deleting_on_receive(self: poller.Poller, sqs: Any, *args: Any, **kwargs: Any) -> None:
        original(self, _DeletingOnReceive(sqs), *args, **kwargs)

    _replace(poller.Poller, "__init__", deleting_on_receive)


class _DeletingOnReceive:
    """An SQS client that deletes what it receives at once; settling is then a no-op."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def receive_message(self, **request: Any) -> Any:
        got = self._sqs.receive_message(**request)
        messages = got.get("Messages", [])
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=request["QueueUrl"],
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)
                ],
            )
        return got

    def delete_message_batch(self, **_request: Any) -> Any:
        return {"Successful": [], "Failed": []}

    def delete_message(self, **_request: Any) -> Any:
        return {}

    def change_message_visibility_batch(self, **_request: Any) -> Any:
        return {"Successful": [], "Failed": []}


def worker_acks_every_outcome() -> None:
    from system_under_test.worker import handler, poller

    original = poller.Poller._settle

    def acking_everything(
        self: poller.Poller, messages: list[dict[str, Any]], _outcomes: dict[str, str]
    ) -> None:
        original(self, messages, {m["MessageId"]: handler.HANDLED for m in messages})

    _replace(poller.Poller, "_settle", acking_everything)


def rate_limiter_off() -> None:
    from system_under_test.api import security

    def unlimited(self: security.TokenBuckets, _key: str) -> security.Decision:
        return security.Decision(True, self.burst, self.burst, 0, 0)

    _replace(security.TokenBuckets, "take", unlimited)


def api_202_before_sqs_ack() -> None:
    from system_under_test.api import publisher

    original = publisher.Publisher.publish

    def fire_and_forget(self: publisher.Publisher, envelope: Any) -> str:
        def send() -> None:
            try:
                original(self, envelope)
            except Exception as exc:  # lost, and nobody is told: the defect
                log.warning("background publish failed: %s", exc)

        threading.Thread(target=send, daemon=True).start()
        return f"unsent-{uuid.uuid4()}"

    _replace(publisher.Publisher, "publish", fire_and_forget)


def retries_without_backoff() -> None:
    from tenacity import wait_none

    from system_under_test.api import publisher
    from system_under_test.worker import downstream, poller

    for module in (publisher, downstream):
        for name in ("wait_fixed", "wait_random_exponential", "wait_exponential_jitter"):
            if hasattr(module, name):
                _replace(module, name, lambda *_args, **_kwargs: wait_none())
    _replace(poller.Poller, "_backoff", lambda self, receives: 0)


def worker_crashes_on_malformed_body() -> None:
    from system_under_test.exceptions import ProcessingError
    from system_under_test.worker import handler

    original = getattr(handler, "parse_envelope")  # noqa: B009 (the name a patch replaces)

    def crashing(body: str) -> dict[str, Any]:
        try:
            return dict(original(body))
        except ProcessingError:
            log.error("malformed body: crashing the worker (variant)")
            os._exit(70)

    _replace(handler, "parse_envelope", crashing)


def fault_expiry_ignored() -> None:
    from system_under_test import faults

    document, mode = faults._from_document, faults._from_mode
    # Judged as if it were still the epoch's start: nothing has ever expired.
    _replace(faults, "_from_document", lambda param, _now, ignored: document(param, 0.0, ignored))
    _replace(faults, "_from_mode", lambda param, _now, ttl, ignored: mode(param, 0.0, ttl, ignored))


def _replace(owner: object, name: str, value: object) -> None:
    """Swap one attribute of a module or class (the whole mechanism of a variant)."""
    if not hasattr(owner, name):
        raise RuntimeError(f"{owner!r} has no {name!r}: this variant no longer fits the system")
    setattr(owner, name, value)


def _label_health(variant: Variant) -> None:
    from system_under_test.api.health import Health

    original = Health.deep

    def labelled(self: Health) -> dict[str, Any]:
        return {**original(self), "variant": variant.as_dict()}

    _replace(Health, "deep", labelled)


PATCHES: dict[str, Callable[[], None]] = {
    "api-idempotency-off": api_idempotency_off,
    "worker-idempotency-off": worker_idempotency_off,
    "circuit-never-opens": circuit_never_opens,
    "worker-deletes-before-processing": worker_deletes_before_processing,
    "worker-acks-every-outcome": worker_acks_every_outcome,
    "rate-limiter-off": rate_limiter_off,
    "api-202-before-sqs-ack": api_202_before_sqs_ack,
    "retries-without-backoff": retries_without_backoff,
    "worker-crashes-on-malformed-body": worker_crashes_on_malformed_body,
    "fault-expiry-ignored": fault_expiry_ignored,
}


def apply(variant: Variant, part: str) -> None:
    """Break ``part`` (api, worker, downstream) as ``variant`` says; label the API."""
    if part in variant.parts:
        PATCHES[variant.name]()
    if part == "api":
        _label_health(variant)
