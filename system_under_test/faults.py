"""Fault switches read from SSM, the way failure-lambda does it.

Two parameters switch faults on:

- ``/ingestion/failure_mode``: one of the seed's modes (``none``,
  ``poison_payload``, ``slow_downstream``, ``random_fail_p30``,
  ``duplicate_submit``, and ours, ``slow_api``) with that mode's default parameters. It carries no
  expiry of its own, so it lapses ``fault_default_ttl_seconds`` after it was
  last set.
- ``/ingestion/fault``: a JSON document that wins when it names a mode:
  ``{"mode": "slow_downstream", "latencyMs": 8000, "errorRate": 0.3,
  "statusCode": 503, "ratio": 0.2, "hang": false, "expiresAt": <epoch s or ISO 8601>}``.

Every fault expires, so a crashed gameday heals itself. An expired, unknown or
malformed fault is ignored and reported in ``ignored`` (shown by ``/ready`` and
``/health/deep``). Reads are cached for at most ``cache_seconds`` (1 s), so a
switch takes effect within 2 s.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from system_under_test.config import SutConfig

logger = Logger(service="faults")

FAILURE_MODES = (
    "none",
    "poison_payload",
    "slow_downstream",
    "random_fail_p30",
    "duplicate_submit",
    "slow_api",
)


@dataclass(frozen=True)
class Fault:
    """An active fault and its parameters (defaults per mode below)."""

    mode: str
    latency_ms: int = 0
    error_rate: float = 0.0
    status_code: int = 503
    ratio: float = 0.0
    hang: bool = False
    expires_at: float | None = None
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What each seed mode does when switched on without parameters.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    # the API corrupts this share of accepted orders (a buggy producer): poison for the worker
    "poison_payload": {"ratio": 0.2},
    # the downstream answers after this long: past the worker's 5 s timeout
    "slow_downstream": {"latency_ms": 8000},
    # the downstream fails this share of calls with this status
    "random_fail_p30": {"error_rate": 0.3, "status_code": 503},
    # the API publishes this share of orders twice (SQS at-least-once, from inside)
    "duplicate_submit": {"ratio": 0.3},
    # not a seed mode: the API answers this much later (a slow dependency on the request
    # path), which is what a load profile's latency gate is there to catch
    "slow_api": {"latency_ms": 400},
}

#: Modes the API applies on the request path; the downstream leaves them alone (a slow API
#: with a slow downstream behind it would be two faults).
API_MODES = frozenset({"poison_payload", "duplicate_submit", "slow_api"})

_DOCUMENT_FIELDS = {
    "latencyMs": ("latency_ms", int),
    "errorRate": ("error_rate", float),
    "statusCode": ("status_code", int),
    "ratio": ("ratio", float),
    "hang": ("hang", bool),
}


@dataclass(frozen=True)
class FaultState:
    active: Fault | None
    ignored: list[str] = field(default_factory=list)
    read_at: float = 0.0
    error: str | None = None  # SSM could not be read: the last known state is kept

    def mode(self) -> str:
        return self.active.mode if self.active else "none"

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode(),
            "active": self.active.as_dict() if self.active else None,
            "ignored": self.ignored,
            "error": self.error,
        }


class FaultSwitch:
    """Reads the switches through a short cache; safe to share between threads."""

    def __init__(
        self,
        ssm: Any,
        mode_parameter: str,
        document_parameter: str,
        *,
        cache_seconds: float = 1.0,
        default_ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ssm = ssm
        self._names = (mode_parameter, document_parameter)
        self._cache_seconds = cache_seconds
        self._default_ttl = default_ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = FaultState(active=None)

    @classmethod
    def from_config(cls, ssm: Any, config: SutConfig) -> FaultSwitch:
        return cls(
            ssm,
            config.failure_mode_parameter,
            config.fault_parameter,
            cache_seconds=config.fault_cache_seconds,
            default_ttl_seconds=config.fault_default_ttl_seconds,
        )

    def current(self) -> FaultState:
        now = self._clock()
        with self._lock:
            if self._state.read_at and now - self._state.read_at < self._cache_seconds:
                return self._state
            self._state = self._read(now)
            return self._state

    def _read(self, now: float) -> FaultState:
        try:
            found = self._ssm.get_parameters(Names=list(self._names))["Parameters"]
        except Exception as exc:
            logger.warning("fault switches unreadable", extra={"error": str(exc)})
            return replace(self._state, read_at=now, error=f"SSM unreadable: {exc}")
        by_name = {p["Name"]: p for p in found}
        mode_param, document_param = (by_name.get(name) for name in self._names)
        ignored: list[str] = []
        active = _from_document(document_param, now, ignored)
        if active is None:
            active = _from_mode(mode_param, now, self._default_ttl, ignored)
        for warning in ignored:
            logger.warning("fault ignored", extra={"reason": warning})
        return FaultState(active=active, ignored=ignored, read_at=now)


def _from_document(  # noqa: PLR0911 (one return per way a document can be wrong)
    param: dict[str, Any] | None, now: float, ignored: list[str]
) -> Fault | None:
    if param is None:
        return None
    name = param["Name"]
    try:
        document = json.loads(param["Value"])
    except json.JSONDecodeError:
        ignored.append(f"{name}: not JSON")
        return None
    if not isinstance(document, dict):
        ignored.append(f"{name}: not a JSON object")
        return None
    mode = document.get("mode", "none")
    if mode in (None, "none"):
        return None
    if mode not in MODE_DEFAULTS:
        ignored.append(f"{name}: unknown mode {mode!r}")
        return None
    expires_at = _epoch(document.get("expiresAt"))
    if expires_at is None:
        ignored.append(f"{name}: mode {mode!r} has no valid expiresAt")
        return None
    if expires_at <= now:
        ignored.append(f"{name}: mode {mode!r} expired")
        return None
    values: dict[str, Any] = dict(MODE_DEFAULTS[mode])
    for key, (attribute, kind) in _DOCUMENT_FIELDS.items():
        if key in document:
            try:
                values[attribute] = kind(document[key])
            except (TypeError, ValueError):
                ignored.append(f"{name}: {key}={document[key]!r} is not a {kind.__name__}")
                return None
    return Fault(mode=mode, expires_at=expires_at, source=name, **values)


def _from_mode(
    param: dict[str, Any] | None, now: float, ttl: float, ignored: list[str]
) -> Fault | None:
    if param is None:
        return None
    name, mode = param["Name"], param["Value"].strip()
    if mode == "none":
        return None
    if mode not in MODE_DEFAULTS:
        ignored.append(f"{name}: unknown mode {mode!r}")
        return None
    modified = param.get("LastModifiedDate")
    set_at = modified.timestamp() if isinstance(modified, datetime) else now
    expires_at = set_at + ttl
    if expires_at <= now:
        ignored.append(f"{name}: mode {mode!r} expired ({ttl:.0f} s after it was set)")
        return None
    return Fault(mode=mode, expires_at=expires_at, source=name, **MODE_DEFAULTS[mode])


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
