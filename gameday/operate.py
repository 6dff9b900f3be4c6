"""`gameday fault set|clear` and `gameday dlq preview|redrive`, against the running stack.

They reach the system only through the AWS APIs (SSM and SQS), as a user's
own tooling would, with the endpoints and names from the stack's state file.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from gameday.errors import EXIT_OK, HarnessError
from gameday.settings import Settings
from gameday.stack import state as statefile
from system_under_test import redrive
from system_under_test.faults import MODE_DEFAULTS

MAX_FAULT_TTL_SECONDS = 24 * 3600


def _clients(settings: Settings) -> tuple[dict[str, Any], Any, Any]:
    state = statefile.running_state(settings)
    return state, statefile.aws_client(state, "sqs"), statefile.aws_client(state, "ssm")


def fault_document(args: argparse.Namespace, now: float) -> dict[str, Any]:
    """The structured fault document for `fault set`; a bad flag names itself."""
    if args.mode not in MODE_DEFAULTS:
        raise HarnessError(
            f"unknown fault mode {args.mode!r}", f"choose one of {', '.join(MODE_DEFAULTS)}"
        )
    checks = (
        ("--ttl", args.ttl, 1, MAX_FAULT_TTL_SECONDS),
        ("--latency-ms", args.latency_ms, 0, 600_000),
        ("--error-rate", args.error_rate, 0.0, 1.0),
        ("--ratio", args.ratio, 0.0, 1.0),
        ("--status-code", args.status_code, 400, 599),
    )
    for flag, value, low, high in checks:
        if value is not None and not low <= value <= high:
            raise HarnessError(f"{flag} {value} is out of range [{low}, {high}]")
    document: dict[str, Any] = {"mode": args.mode, "expiresAt": round(now + args.ttl, 3)}
    for key, value in (
        ("latencyMs", args.latency_ms),
        ("errorRate", args.error_rate),
        ("ratio", args.ratio),
        ("statusCode", args.status_code),
    ):
        if value is not None:
            document[key] = value
    if args.hang:
        document["hang"] = True
    return document


def fault_set(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    document = fault_document(args, time.time())
    state, _sqs, ssm = _clients(settings)
    name = state["resources"]["fault_parameter"]
    ssm.put_parameter(Name=name, Value=json.dumps(document), Type="String", Overwrite=True)
    until = datetime.fromtimestamp(document["expiresAt"], UTC).strftime("%H:%M:%SZ")
    print(f"fault {args.mode} set in {name} until {until}: {json.dumps(document)}", file=out)
    return EXIT_OK


def fault_clear(settings: Settings, out: TextIO) -> int:
    state, _sqs, ssm = _clients(settings)
    resources = state["resources"]
    ssm.put_parameter(
        Name=resources["fault_parameter"],
        Value=json.dumps({"mode": "none", "expiresAt": None}),
        Type="String",
        Overwrite=True,
    )
    ssm.put_parameter(
        Name=resources["failure_mode_parameter"], Value="none", Type="String", Overwrite=True
    )
    print("faults cleared", file=out)
    return EXIT_OK


def dlq_preview(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    state, sqs, _ssm = _clients(settings)
    result = redrive.preview(
        sqs,
        state["resources"]["dlq_url"],
        redrive.DlqFilter(args.error_type, args.min_age),
        max_messages=args.max,
    )
    if args.json:
        print(json.dumps(result, indent=2), file=out)
        return EXIT_OK
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(result["byErrorType"].items())) or "none"
    print(f"DLQ depth {result['dlqDepth']}; sampled {result['sampled']} ({kinds})", file=out)
    for message in result["messages"]:
        print(
            f"  {message['errorType']:<12} {message['orderId']!s:<24} "
            f"attempts {message['attempts']}  age {message['ageSeconds']:>7.1f}s  "
            f"{message['errorMessage'] or ''}",
            file=out,
        )
    return EXIT_OK


def dlq_redrive(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    state, sqs, _ssm = _clients(settings)
    try:
        result = redrive.redrive(
            sqs,
            state["resources"]["dlq_url"],
            state["resources"]["queue_url"],
            redrive.DlqFilter(args.error_type, args.min_age),
            max_messages=args.max,
            jitter_seconds=args.jitter,
        )
    except ValueError as exc:
        raise HarnessError(str(exc)) from None
    print(
        f"redriven {result['redriven']}, skipped {result['skipped']} by the filters, "
        f"failed {len(result['failed'])}",
        file=out,
    )
    return EXIT_OK
