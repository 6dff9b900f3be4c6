"""Configuration of the reference system: every environment variable it reads, in one place.

boto3 reads ``AWS_ENDPOINT_URL`` and ``AWS_REGION`` itself, which is how the
embedded backend is reached; nothing here names an endpoint of AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from system_under_test.telemetry import NAMESPACE

# Environment variable names (the only place they are spelled).
QUEUE_URL = "SUT_QUEUE_URL"
DLQ_URL = "SUT_DLQ_URL"
IDEMPOTENCY_TABLE = "SUT_IDEMPOTENCY_TABLE"
LEDGER_TABLE = "SUT_LEDGER_TABLE"
EFFECTS_TABLE = "SUT_EFFECTS_TABLE"
FAILURE_MODE_PARAMETER = "SUT_FAILURE_MODE_PARAMETER"
FAULT_PARAMETER = "SUT_FAULT_PARAMETER"
FAULT_CACHE_SECONDS = "SUT_FAULT_CACHE_SECONDS"
FAULT_DEFAULT_TTL_SECONDS = "SUT_FAULT_DEFAULT_TTL_SECONDS"
API_KEYS = "SUT_API_KEYS"
ADMIN_API_KEYS = "SUT_ADMIN_API_KEYS"
#: On AWS: an SSM SecureString holding {"client": [...], "admin": [...]}, added to the above.
API_KEYS_PARAMETER = "SUT_API_KEYS_PARAMETER"
RATE_LIMIT_PER_SECOND = "SUT_RATE_LIMIT_PER_SECOND"
RATE_LIMIT_BURST = "SUT_RATE_LIMIT_BURST"
#: A DynamoDB table for the rate limit's buckets, shared by every API process ("": memory).
RATE_LIMIT_TABLE = "SUT_RATE_LIMIT_TABLE"
IDEMPOTENCY_TTL_SECONDS = "SUT_IDEMPOTENCY_TTL_SECONDS"
REQUEST_DEADLINE_SECONDS = "SUT_REQUEST_DEADLINE_SECONDS"
DOWNSTREAM_URL = "SUT_DOWNSTREAM_URL"
DOWNSTREAM_TIMEOUT_SECONDS = "SUT_DOWNSTREAM_TIMEOUT_SECONDS"
DOWNSTREAM_ATTEMPTS = "SUT_DOWNSTREAM_ATTEMPTS"
CIRCUIT_FAILURE_THRESHOLD = "SUT_CIRCUIT_FAILURE_THRESHOLD"
CIRCUIT_SUCCESS_THRESHOLD = "SUT_CIRCUIT_SUCCESS_THRESHOLD"
CIRCUIT_RESET_SECONDS = "SUT_CIRCUIT_RESET_SECONDS"
WORKER_BATCH_SIZE = "SUT_WORKER_BATCH_SIZE"
WORKER_WAIT_SECONDS = "SUT_WORKER_WAIT_SECONDS"
MAX_RECEIVE_COUNT = "SUT_MAX_RECEIVE_COUNT"
FAULT_SEED = "SUT_FAULT_SEED"  # makes injected faults reproducible (0: not seeded)
METRICS_NAMESPACE = "SUT_METRICS_NAMESPACE"
#: How often a local process sends its CloudWatch metrics (0: never; Lambda sends per call).
METRICS_FLUSH_SECONDS = "SUT_METRICS_FLUSH_SECONDS"
INSTANCE = "SUT_INSTANCE"  # the instance dimension of per-process metrics (a part's name)

#: SQS's own limit, and the API's body cap.
MAX_BODY_BYTES = 256 * 1024


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class SutConfig:
    queue_url: str = ""
    dlq_url: str = ""
    idempotency_table: str = "gameday-idempotency"
    ledger_table: str = "gameday-processed-orders"
    #: The downstream's applied effects, one item per Idempotency-Key ("": memory only).
    effects_table: str = ""
    failure_mode_parameter: str = "/ingestion/failure_mode"
    fault_parameter: str = "/ingestion/fault"
    fault_cache_seconds: float = 1.0
    #: A bare ``failure_mode`` value carries no expiry: it lapses this long after it was set.
    fault_default_ttl_seconds: float = 900.0
    api_keys: frozenset[str] = field(default_factory=frozenset)
    admin_api_keys: frozenset[str] = field(default_factory=frozenset)
    api_keys_parameter: str = ""
    rate_limit_per_second: float = 30.0  # below what the API serves within its latency SLO
    rate_limit_burst: int = 5  # accepted at once: 10 overloaded a cold stack at a spike's onset
    rate_limit_table: str = ""  # set whenever the API runs as more than one process
    idempotency_ttl_seconds: int = 24 * 3600
    request_deadline_seconds: float = 5.0
    downstream_url: str = ""
    downstream_timeout_seconds: float = 5.0
    downstream_attempts: int = 3
    circuit_failure_threshold: int = 5
    circuit_success_threshold: int = 2
    circuit_reset_seconds: float = 30.0
    worker_batch_size: int = 10
    worker_wait_seconds: int = 5
    max_receive_count: int = 3
    fault_seed: int = 0
    metrics_namespace: str = NAMESPACE
    metrics_flush_seconds: float = 1.0
    instance: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SutConfig:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, (variable, kind) in _VARIABLES.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _parse(variable, raw, kind)
        return cls(**values)  # type: ignore[arg-type]


_VARIABLES: dict[str, tuple[str, type]] = {
    "queue_url": (QUEUE_URL, str),
    "dlq_url": (DLQ_URL, str),
    "idempotency_table": (IDEMPOTENCY_TABLE, str),
    "ledger_table": (LEDGER_TABLE, str),
    "effects_table": (EFFECTS_TABLE, str),
    "failure_mode_parameter": (FAILURE_MODE_PARAMETER, str),
    "fault_parameter": (FAULT_PARAMETER, str),
    "fault_cache_seconds": (FAULT_CACHE_SECONDS, float),
    "fault_default_ttl_seconds": (FAULT_DEFAULT_TTL_SECONDS, float),
    "api_keys": (API_KEYS, frozenset),
    "admin_api_keys": (ADMIN_API_KEYS, frozenset),
    "api_keys_parameter": (API_KEYS_PARAMETER, str),
    "rate_limit_per_second": (RATE_LIMIT_PER_SECOND, float),
    "rate_limit_burst": (RATE_LIMIT_BURST, int),
    "rate_limit_table": (RATE_LIMIT_TABLE, str),
    "idempotency_ttl_seconds": (IDEMPOTENCY_TTL_SECONDS, int),
    "request_deadline_seconds": (REQUEST_DEADLINE_SECONDS, float),
    "downstream_url": (DOWNSTREAM_URL, str),
    "downstream_timeout_seconds": (DOWNSTREAM_TIMEOUT_SECONDS, float),
    "downstream_attempts": (DOWNSTREAM_ATTEMPTS, int),
    "circuit_failure_threshold": (CIRCUIT_FAILURE_THRESHOLD, int),
    "circuit_success_threshold": (CIRCUIT_SUCCESS_THRESHOLD, int),
    "circuit_reset_seconds": (CIRCUIT_RESET_SECONDS, float),
    "fault_seed": (FAULT_SEED, int),
    "worker_batch_size": (WORKER_BATCH_SIZE, int),
    "worker_wait_seconds": (WORKER_WAIT_SECONDS, int),
    "max_receive_count": (MAX_RECEIVE_COUNT, int),
    "metrics_namespace": (METRICS_NAMESPACE, str),
    "metrics_flush_seconds": (METRICS_FLUSH_SECONDS, float),
    "instance": (INSTANCE, str),
}


def with_keys_from_ssm(config: SutConfig, ssm: object) -> SutConfig:
    """Add the API keys kept in the SSM SecureString ``api_keys_parameter``, if one is named."""
    if not config.api_keys_parameter:
        return config
    try:
        value = ssm.get_parameter(  # type: ignore[attr-defined]
            Name=config.api_keys_parameter, WithDecryption=True
        )["Parameter"]["Value"]
        keys = json.loads(value)
        client, admin = frozenset(keys.get("client", [])), frozenset(keys.get("admin", []))
    except Exception as exc:
        raise ConfigError(
            f"{API_KEYS_PARAMETER}={config.api_keys_parameter!r}: cannot read the keys "
            f"({type(exc).__name__}); it must be a SecureString of "
            '{"client": [...], "admin": [...]}'
        ) from None
    return replace(
        config, api_keys=config.api_keys | client, admin_api_keys=config.admin_api_keys | admin
    )


def _parse(variable: str, raw: str, kind: type) -> object:
    if kind is frozenset:
        return frozenset(part.strip() for part in raw.split(",") if part.strip())
    if kind is str:
        return raw
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise ConfigError(f"{variable}={raw!r} must not be negative")
    return value
