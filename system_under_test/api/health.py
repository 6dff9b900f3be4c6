"""Readiness and deep health, shaped like the seed's ``/api/ready`` example."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime
from typing import Any

import boto3

import system_under_test
from system_under_test import queues
from system_under_test.circuit import CLOSED, CircuitBreaker
from system_under_test.config import SutConfig
from system_under_test.faults import FaultSwitch


class Health:
    def __init__(
        self,
        config: SutConfig,
        sqs: Any,
        dynamodb: Any,
        faults: FaultSwitch,
        circuits: dict[str, CircuitBreaker],
    ) -> None:
        self._config = config
        self._sqs = sqs
        self._dynamodb = dynamodb
        self._faults = faults
        self._circuits = circuits
        self._started = time.time()

    def ready(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 200 ``ready`` or ``degraded``, 503 ``not_ready``."""
        checks = {
            "sqs": self._check(
                lambda: self._sqs.get_queue_attributes(
                    QueueUrl=self._config.queue_url, AttributeNames=["QueueArn"]
                )
            ),
            "dynamodb": self._check(
                lambda: self._dynamodb.describe_table(TableName=self._config.idempotency_table)
            ),
        }
        fault_state = self._faults.current()
        checks["ssm"] = (
            {"ok": False, "error": fault_state.error} if fault_state.error else {"ok": True}
        )
        circuits = {name: c.snapshot() for name, c in self._circuits.items()}
        degraded = [name for name, c in circuits.items() if c["state"] != CLOSED]
        if fault_state.active:
            degraded.append(f"fault:{fault_state.active.mode}")
        if not all(check["ok"] for check in checks.values()):
            status, code = "not_ready", 503
        elif degraded:
            status, code = "degraded", 200
        else:
            status, code = "ready", 200
        return code, {
            "status": status,
            "timestamp": _now_iso(),
            "dependencies": checks,
            "circuits": circuits,
            "faults": fault_state.as_dict(),
            "degradedServices": len(degraded),
            "degraded": degraded,
        }

    def deep(self) -> dict[str, Any]:
        _code, ready = self.ready()
        return {
            **ready,
            "queues": {
                "orders": self._depth(self._config.queue_url),
                "dlq": self._depth(self._config.dlq_url),
            },
            "versions": {
                "system_under_test": system_under_test.__version__,
                "python": platform.python_version(),
                "boto3": boto3.__version__,
            },
            "uptimeSeconds": round(time.time() - self._started, 1),
            "config": {
                "rateLimitPerSecond": self._config.rate_limit_per_second,
                "rateLimitBurst": self._config.rate_limit_burst,
                "rateLimitShared": bool(self._config.rate_limit_table),
                "requestDeadlineSeconds": self._config.request_deadline_seconds,
                "idempotencyTtlSeconds": self._config.idempotency_ttl_seconds,
            },
        }

    def _depth(self, url: str) -> dict[str, Any]:
        if not url:
            return {"ok": False, "error": "not configured"}
        try:
            counts = queues.depth(self._sqs, url)
        except Exception as exc:
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": True, **counts}

    @staticmethod
    def _check(probe: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            probe()
        except Exception as exc:
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": True, "latencyMs": round((time.perf_counter() - started) * 1000, 1)}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
