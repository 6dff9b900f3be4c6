"""Run a worker locally: ``python -m system_under_test.worker``. SIGTERM stops it gracefully."""

from __future__ import annotations

import argparse
import signal
import threading

from system_under_test.config import SutConfig
from system_under_test.runtime import aws_client, freeze_startup_heap
from system_under_test.telemetry import local_publisher
from system_under_test.worker.handler import build_processor
from system_under_test.worker.metrics import serve_metrics
from system_under_test.worker.poller import Poller


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m system_under_test.worker")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=35,
        help="seconds a received batch stays hidden (the queue's: worker timeout + 30)",
    )
    parser.add_argument(
        "--metrics-port", type=int, default=0, help="serve Prometheus metrics on 127.0.0.1"
    )
    args = parser.parse_args()
    config = SutConfig.from_env()
    sqs = aws_client("sqs", read_timeout=config.worker_wait_seconds + 10)
    processor = build_processor(config, sqs, aws_client("dynamodb"))
    stop = threading.Event()
    poller = Poller(sqs, config, processor, args.visibility_timeout, stop)
    if args.metrics_port:
        serve_metrics(processor, poller, args.metrics_port)
    publisher = local_publisher(
        processor.telemetry,
        config.metrics_namespace,
        config.metrics_flush_seconds,
        lambda: aws_client("cloudwatch", read_timeout=2, attempts=1),
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    freeze_startup_heap()
    try:
        poller.run()
    finally:
        processor.downstream.close()
        if publisher is not None:
            publisher.stop()


if __name__ == "__main__":
    main()
