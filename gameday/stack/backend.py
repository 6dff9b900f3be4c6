"""The embedded AWS backend: moto's server app, our SQS fast path, a real WSGI server.

Run as its own process (``python -m gameday.stack.backend --port N``); the
supervisor starts it and the benchmark starts a stock twin beside it.
Waitress replaces werkzeug's development server: it keeps moto's in-memory
state in one process (threads, not forked workers) and costs less per call.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from typing import Any

from gameday import settings
from gameday.stack import alarms
from system_under_test.runtime import freeze_startup_heap

#: Long polls hold a thread each, so leave room for workers plus API publishers.
DEFAULT_THREADS = 48


def build_app(fast: bool = True) -> Any:
    """moto's multi-service WSGI app; ``fast`` adds our SQS fast path and overhead cuts."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    if fast:
        from gameday.stack import metric_store, moto_overhead, sqs_fastpath
        from gameday.stack.api_errors import ApiErrors

        sqs_fastpath.install()
        moto_overhead.install()
        metric_store.install()
        alarms.register_cloudformation_alarm()
        return ApiErrors(app)  # AWS API errors on demand (chaos: SQS away, DynamoDB fine)
    return app


def warm_up(app: Any, services: tuple[str, ...] = settings.EMBEDDED_SERVICES) -> None:
    """Build each service's app ahead of its first request (SSM alone imports for 1.5 s).

    Runs in a thread beside the server, so the backend answers health checks at
    once and the supervisor creates its boto3 clients meanwhile.
    """
    from moto.moto_server.werkzeug_app import create_backend_app

    for service in services:
        built = create_backend_app(service)  # type: ignore[arg-type]
        with app.lock:
            app.app_instances.setdefault(service, built)
    freeze_startup_heap()  # moto's modules and apps: the bulk of this heap
    freeze_survivors()


def freeze_survivors() -> None:
    """Keep full collections short as the stored data grows, by freezing what survives them.

    Queues' messages and tables' items live as long as the backend, and every full
    collection walked them again: 100-220 ms pauses at 100,000-180,000 objects, measured
    late in a CI run on the shared stack, enough to breach a spike's p99. What survives a
    full collection is long-lived, so it joins the frozen startup heap, and the next
    full collection walks only what came after it. The cost: a reference cycle among
    frozen objects is never collected (moto's stored records form none we found).
    """

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    gc.callbacks.append(on_collection)


def serve(
    app: Any, host: str, port: int, server: str = "waitress", threads: int = DEFAULT_THREADS
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if server == "werkzeug":  # moto's own choice, kept for the benchmark's comparison
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        return
    import waitress

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=1000,
        channel_timeout=60,
        ident="gameday-backend",
        _quiet=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gameday.stack.backend")
    parser.add_argument("--host", default=settings.LOOPBACK)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--server", choices=("waitress", "werkzeug"), default="waitress")
    parser.add_argument(
        "--stock", action="store_true", help="plain moto SQS, for benchmarks side by side"
    )
    args = parser.parse_args(argv)
    # moto builds some URLs (queue URLs among them) from MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    try:
        app = build_app(fast=not args.stock)
        threading.Thread(target=warm_up, args=(app,), name="warm-up", daemon=True).start()
        if not args.stock:
            alarms.start()  # moto never evaluates an alarm: CloudWatch's job, done here
        serve(app, args.host, args.port, server=args.server, threads=args.threads)
    except OSError as exc:
        print(f"backend: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
