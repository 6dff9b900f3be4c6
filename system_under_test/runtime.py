"""What every process of the reference system shares: AWS clients and the ASGI server."""

from __future__ import annotations

import gc
from typing import Any

import boto3
from botocore.config import Config

LOOPBACK = "127.0.0.1"


def aws_client(service: str, *, read_timeout: float = 5.0, attempts: int = 2) -> Any:
    """A boto3 client with bounded timeouts; AWS_ENDPOINT_URL picks the backend."""
    config = Config(
        connect_timeout=2,
        read_timeout=read_timeout,
        retries={"max_attempts": attempts, "mode": "standard"},
        max_pool_connections=64,
    )
    return boto3.client(service, config=config)


def serve(app: Any, port: int, host: str = LOOPBACK) -> None:
    """Serve an ASGI app with uvicorn on loopback until SIGTERM or SIGINT."""
    import uvicorn

    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def serve_processes(factory: str, port: int, processes: int, host: str = LOOPBACK) -> None:
    """Serve the app ``factory`` ("module:function") from several uvicorn processes on one
    port, as several Lambda instances would serve one API (share state through AWS only)."""
    import uvicorn

    uvicorn.run(
        factory,
        factory=True,
        workers=processes,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


def freeze_startup_heap() -> None:
    """Take everything built at startup out of the cyclic garbage collector's walks.

    A process that imported boto3 and FastAPI (or moto) holds hundreds of thousands
    of long-lived objects. Its first full collections under load walked them all and
    stalled every request in flight: 110 ms in the API and 200 ms in moto, together,
    at a spike's onset on a fresh stack. ``gc.freeze`` is CPython's remedy for servers.
    """
    gc.collect()
    gc.freeze()
