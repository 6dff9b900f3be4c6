"""Every name, port and environment variable of the harness, in one place.

Each setting has a default that suits the embedded backend and an environment
variable that overrides it, so the same code provisions and drives a real
account (point ``AWS_ENDPOINT_URL`` elsewhere, or unset it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from gameday.errors import HarnessError

LOOPBACK = "127.0.0.1"

#: Credentials for the embedded backend only; moto accepts any.
EMBEDDED_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

#: The services the embedded backend serves for the stack.
EMBEDDED_SERVICES = ("sqs", "dynamodb", "ssm", "cloudwatch")

# Environment variables (the only place their names are spelled).
ENV_PROJECT_DIR = "GAMEDAY_PROJECT_DIR"
ENV_STATE_DIR = "GAMEDAY_STATE_DIR"
ENV_BACKEND_PORT = "GAMEDAY_BACKEND_PORT"
ENV_API_PORT = "GAMEDAY_API_PORT"
ENV_DOWNSTREAM_PORT = "GAMEDAY_DOWNSTREAM_PORT"
ENV_WORKERS = "GAMEDAY_WORKERS"
ENV_API_PROCESSES = "GAMEDAY_API_PROCESSES"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_QUEUE = "GAMEDAY_QUEUE_NAME"
ENV_DLQ = "GAMEDAY_DLQ_NAME"
ENV_MAX_RECEIVE_COUNT = "GAMEDAY_MAX_RECEIVE_COUNT"
ENV_DLQ_RETENTION_S = "GAMEDAY_DLQ_RETENTION_SECONDS"
ENV_WORKER_TIMEOUT_S = "GAMEDAY_WORKER_TIMEOUT_SECONDS"
ENV_VISIBILITY_MARGIN_S = "GAMEDAY_VISIBILITY_MARGIN_SECONDS"
ENV_IDEMPOTENCY_TABLE = "GAMEDAY_IDEMPOTENCY_TABLE"
ENV_RATE_LIMIT_TABLE = "GAMEDAY_RATE_LIMIT_TABLE"
ENV_LEDGER_TABLE = "GAMEDAY_LEDGER_TABLE"
ENV_EFFECTS_TABLE = "GAMEDAY_EFFECTS_TABLE"
ENV_FAILURE_MODE_PARAM = "GAMEDAY_FAILURE_MODE_PARAMETER"
ENV_FAULT_PARAM = "GAMEDAY_FAULT_PARAMETER"
ENV_READY_TIMEOUT_S = "GAMEDAY_READY_TIMEOUT_SECONDS"
ENV_STACK_NAME = "GAMEDAY_STACK_NAME"
ENV_DLQ_ALARM = "GAMEDAY_DLQ_ALARM_NAME"
ENV_ALARM_PERIOD_S = "GAMEDAY_ALARM_PERIOD_SECONDS"
ENV_METRICS_SOURCE = "GAMEDAY_METRICS_SOURCE"


@dataclass(frozen=True)
class Settings:
    state_dir: Path = Path(".gameday")
    backend_port: int = 0  # 0: any free port on 127.0.0.1
    api_port: int = 0
    downstream_port: int = 0
    workers: int = 2
    api_processes: int = 1  # more than 1: the rate limit's buckets move to DynamoDB
    region: str = "us-east-1"
    queue_name: str = "orders"
    dlq_name: str = "orders-dlq"
    max_receive_count: int = 3
    dlq_retention_seconds: int = 14 * 24 * 3600
    worker_timeout_seconds: int = 5
    visibility_margin_seconds: int = 30  # tests shorten it: a killed worker's batch returns sooner
    idempotency_table: str = "gameday-idempotency"
    rate_limit_table: str = "gameday-rate-limits"
    ledger_table: str = "gameday-processed-orders"
    effects_table: str = "gameday-downstream-effects"
    failure_mode_parameter: str = "/ingestion/failure_mode"
    fault_parameter: str = "/ingestion/fault"
    dlq_alarm: str = "orders-dlq-not-empty"
    api_errors_alarm: str = "orders-api-5xx"
    worker_errors_alarm: str = "orders-worker-errors"
    ingest_latency_alarm: str = "orders-ingest-p99"
    alarm_period_seconds: int = 60  # AWS/SQS metrics are per minute; tests shorten it
    metrics_namespace: str = "Gameday/Orders"  # system_under_test.telemetry.NAMESPACE
    #: Where probes, the timeline and guardrails read the system's metrics: "scrape" (each
    #: local process's /metrics) or "cloudwatch" (GetMetricData); "" lets the stack choose.
    metrics_source: str = ""
    ready_timeout_seconds: float = 20.0
    stack_name: str = "gameday-reference"  # the CloudFormation stack of `up --from-template`
    #: Attribute names shared with Powertools' DynamoDBPersistenceLayer defaults.
    table_key: str = field(default="id")
    ttl_attribute: str = field(default="expiration")

    @property
    def visibility_timeout_seconds(self) -> int:
        """The worker's downstream timeout plus a margin (30 s), so a slow call never races
        redelivery."""
        return self.worker_timeout_seconds + self.visibility_margin_seconds

    @property
    def state_file(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by the environment; a bad value names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, variable in _ENVIRONMENT.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _parse(name, variable, raw)
        if "state_dir" not in values and env.get(ENV_PROJECT_DIR):
            values["state_dir"] = Path(env[ENV_PROJECT_DIR]) / ".gameday"  # the project's stack
        region = env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION)
        if region:
            values["region"] = region
        return cls(**values)  # type: ignore[arg-type]


_ENVIRONMENT = {
    "state_dir": ENV_STATE_DIR,
    "backend_port": ENV_BACKEND_PORT,
    "api_port": ENV_API_PORT,
    "downstream_port": ENV_DOWNSTREAM_PORT,
    "workers": ENV_WORKERS,
    "api_processes": ENV_API_PROCESSES,
    "queue_name": ENV_QUEUE,
    "dlq_name": ENV_DLQ,
    "max_receive_count": ENV_MAX_RECEIVE_COUNT,
    "dlq_retention_seconds": ENV_DLQ_RETENTION_S,
    "worker_timeout_seconds": ENV_WORKER_TIMEOUT_S,
    "visibility_margin_seconds": ENV_VISIBILITY_MARGIN_S,
    "idempotency_table": ENV_IDEMPOTENCY_TABLE,
    "rate_limit_table": ENV_RATE_LIMIT_TABLE,
    "ledger_table": ENV_LEDGER_TABLE,
    "effects_table": ENV_EFFECTS_TABLE,
    "failure_mode_parameter": ENV_FAILURE_MODE_PARAM,
    "fault_parameter": ENV_FAULT_PARAM,
    "ready_timeout_seconds": ENV_READY_TIMEOUT_S,
    "stack_name": ENV_STACK_NAME,
    "dlq_alarm": ENV_DLQ_ALARM,
    "alarm_period_seconds": ENV_ALARM_PERIOD_S,
    "metrics_source": ENV_METRICS_SOURCE,
}

_TYPES = {f.name: f.type for f in fields(Settings)}


def _parse(name: str, variable: str, raw: str) -> object:
    kind = _TYPES[name]
    try:
        if kind == "Path":
            return Path(raw)
        if kind == "int":
            value: float = int(raw)
        elif kind == "float":
            value = float(raw)
        else:
            return raw
    except ValueError:
        raise HarnessError(f"{variable}={raw!r} is not a valid {kind}") from None
    if value < 0 or (name.endswith("_port") and value > 65535):
        raise HarnessError(f"{variable}={raw!r} is out of range")
    return value
