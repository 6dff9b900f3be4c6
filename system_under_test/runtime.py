"""What every process of the reference system shares: AWS clients and the ASGI server."""

from __future__ import annotations

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

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
