"""A backend process for the benchmark, with backlogs seeded before it serves.

Filling a stock moto queue to 10,000 messages through SendMessage takes about
25 minutes (each send rescans the queue), so the benchmark seeds its backlogs
straight into moto's model with ``Queue.add_message`` (O(1) in stock moto
too) and only then starts serving. Every measured call still goes over HTTP
through the server's own code path.

    python -m gameday.bench.seeded_backend --variant stock --port N --seed bench-1000=1000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import uuid

from gameday import settings
from gameday.stack.backend import build_app, serve

VARIANTS = {
    # name: (SQS fast path, WSGI server)
    "stock": (False, "werkzeug"),
    "fast-werkzeug": (True, "werkzeug"),
    "gameday": (True, "waitress"),
}
REGION = "us-east-1"


def seed(queue_name: str, depth: int) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import Message, sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].create_queue(queue_name)
    for _ in range(depth):
        message = Message(str(uuid.uuid4()), "backlog")
        message.mark_sent()
        queue.add_message(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gameday.bench.seeded_backend")
    parser.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", action="append", default=[], metavar="QUEUE=DEPTH")
    args = parser.parse_args(argv)
    fast, server = VARIANTS[args.variant]
    os.environ["MOTO_PORT"] = str(args.port)
    app = build_app(fast=fast)
    app.debug = True  # as moto.server sets it
    for spec in args.seed:
        name, _, depth = spec.partition("=")
        seed(name, int(depth))
    with contextlib.suppress(KeyboardInterrupt):
        serve(app, settings.LOOPBACK, args.port, server=server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
