"""Business rules, stricter than the API's envelope check.

An order can pass the API (right shape, ranges within reason) and still fail
here: the seed's schema-evolution story. Such a message is a real poison
payload: it can never succeed, so it goes to the DLQ at once (VALIDATION).
"""

from __future__ import annotations

import json
from typing import Any

from system_under_test.exceptions import ErrorCategory, ProcessingError

SUPPORTED_CURRENCIES = frozenset({"USD", "EUR", "GBP", "JPY", "CAD", "AUD"})
MAX_ORDER_AMOUNT = 10_000.0
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})


def parse_envelope(body: str) -> dict[str, Any]:
    """The queued envelope, or VALIDATION for anything that is not one."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        raise _invalid("body is not JSON") from None
    if not isinstance(envelope, dict):
        raise _invalid("body is not a JSON object")
    for field in ("order", "idempotencyKey"):
        if field not in envelope:
            raise _invalid(f"envelope has no {field!r}")
    if not isinstance(envelope["order"], dict):
        raise _invalid("order is not an object")
    if not isinstance(envelope["idempotencyKey"], str) or not envelope["idempotencyKey"]:
        raise _invalid("idempotencyKey is not a non-empty string")
    return envelope


def check_order(order: dict[str, Any]) -> None:
    """Raise VALIDATION when the order breaks a business rule."""
    order_id = order.get("orderId")
    if not isinstance(order_id, str) or not order_id:
        raise _invalid("orderId is missing")
    version = order.get("schemaVersion", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise _invalid(f"schemaVersion {version!r} is not supported")
    currency = order.get("currency")
    if currency not in SUPPORTED_CURRENCIES:
        raise _invalid(f"currency {currency!r} is not supported")
    amount = order.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise _invalid("amount is not a number")
    if not 0 < amount <= MAX_ORDER_AMOUNT:
        raise _invalid(f"amount {amount} is outside (0, {MAX_ORDER_AMOUNT:g}]")
    items = order.get("items")
    if items:
        try:
            total = sum(item["quantity"] * item["unitPrice"] for item in items)
        except (TypeError, KeyError):
            raise _invalid("items are malformed") from None
        if abs(total - amount) > 0.01:
            raise _invalid(f"items total {total:.2f} does not match amount {amount:.2f}")


def _invalid(message: str) -> ProcessingError:
    return ProcessingError(ErrorCategory.VALIDATION, message)
