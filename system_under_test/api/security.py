"""API keys and per-key token-bucket rate limiting (in memory, or shared in DynamoDB)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from system_under_test.exceptions import ApiError

logger = Logger(service="api")

CLIENT, ADMIN = "client", "admin"


def authenticate(
    api_key: str | None, client_keys: frozenset[str], admin_keys: frozenset[str], need: str
) -> str:
    """The caller's role for ``api_key``; 401 without a valid key, 403 without the right."""
    if not api_key:
        raise ApiError(401, "AUTH_REQUIRED", "X-Api-Key header is required")
    if api_key in admin_keys:
        return ADMIN
    if api_key not in client_keys:
        raise ApiError(401, "INVALID_API_KEY", "the API key is not valid")
    if need == ADMIN:
        raise ApiError(403, "FORBIDDEN", "this endpoint needs an admin API key")
    return CLIENT


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until one token is available (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class TokenBuckets:
    """One bucket per key: ``rate`` tokens a second, holding at most ``burst``.

    In memory, so exact for one API process (the local stack). Several processes or
    Lambda instances would each hold their own buckets: use ``DynamoTokenBuckets``.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def take(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.burst), now))
            tokens = refill(tokens, now - updated, self.rate, self.burst)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
        return decide(allowed, tokens, self.rate, self.burst)


class DynamoTokenBuckets:
    """The same buckets in a DynamoDB table, shared by every API process and instance.

    Read the bucket (strongly consistent), refill it by the time since its last update,
    and write it back on condition that nobody updated it meanwhile (optimistic
    concurrency; a lost race reads again). The item is keyed by a hash of the API key
    (the key itself is a secret) and expires through the table's TTL an hour after its
    last use. A DynamoDB failure lets the request through: the limiter protects the
    system, it must not take the API down with it.
    """

    ATTEMPTS = 5
    TTL_SECONDS = 3600

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._dynamodb = dynamodb
        self._table = table
        self._clock = clock

    def take(self, key: str) -> Decision:
        item_key = {"id": {"S": "rate#" + hashlib.sha256(key.encode()).hexdigest()[:32]}}
        try:
            for _ in range(self.ATTEMPTS):
                decision = self._try_take(item_key)
                if decision is not None:
                    return decision
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "rate limit table unavailable; letting through", extra={"error": str(exc)}
            )
            return decide(True, float(self.burst - 1), self.rate, self.burst)
        return decide(False, 0.0, self.rate, self.burst)  # contended every time: shed

    def _try_take(self, item_key: dict[str, Any]) -> Decision | None:
        found = self._dynamodb.get_item(TableName=self._table, Key=item_key, ConsistentRead=True)
        now = self._clock()
        item = found.get("Item")
        if item:
            seen = item["updated"]["N"]
            tokens = refill(float(item["tokens"]["N"]), now - float(seen), self.rate, self.burst)
            condition, values = "updated = :seen", {":seen": {"N": seen}}
        else:
            tokens, condition, values = float(self.burst), "attribute_not_exists(id)", {}
        if tokens < 1.0:
            return decide(False, tokens, self.rate, self.burst)  # nothing to write
        tokens -= 1.0
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **item_key,
                    "tokens": {"N": repr(tokens)},
                    "updated": {"N": repr(now)},
                    "expiration": {"N": str(int(now) + self.TTL_SECONDS)},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return None  # another process took a token meanwhile: read again
        return decide(True, tokens, self.rate, self.burst)


def refill(tokens: float, elapsed: float, rate: float, burst: int) -> float:
    return min(float(burst), tokens + max(0.0, elapsed) * rate)


def decide(allowed: bool, tokens: float, rate: float, burst: int) -> Decision:
    """The decision and its headers' figures for a bucket left with ``tokens``."""
    missing = burst - tokens
    reset = math.ceil(missing / rate) if rate > 0 else 0
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate)) if rate > 0 else 1
    return Decision(allowed, burst, int(tokens), reset, retry_after)
