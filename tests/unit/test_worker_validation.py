from __future__ import annotations

import pytest

from system_under_test.exceptions import ErrorCategory, ProcessingError
from system_under_test.worker.validation import check_order, parse_envelope

GOOD = {
    "orderId": "o-1",
    "amount": 30.0,
    "currency": "EUR",
    "items": [{"sku": "a", "quantity": 3, "unitPrice": 10.0}],
}


def test_a_good_order_passes() -> None:
    check_order(GOOD)


@pytest.mark.parametrize(
    "order",
    [
        {**GOOD, "currency": "XXX"},
        {**GOOD, "amount": 20_000.0, "items": None},
        {**GOOD, "amount": 31.0},
        {**GOOD, "schemaVersion": 2},
        {**GOOD, "amount": True},
        {k: v for k, v in GOOD.items() if k != "orderId"},
        {**GOOD, "items": [{"sku": "a"}]},
    ],
)
def test_business_rule_breaches_are_validation_errors(order: dict[str, object]) -> None:
    with pytest.raises(ProcessingError) as error:
        check_order(order)
    assert error.value.category is ErrorCategory.VALIDATION


@pytest.mark.parametrize(
    "body",
    [
        "",
        "nope",
        "[]",
        '{"order": {}}',
        '{"order": 1, "idempotencyKey": "k"}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_anything_that_is_not_an_envelope_is_a_validation_error(body: str) -> None:
    with pytest.raises(ProcessingError) as error:
        parse_envelope(body)
    assert error.value.category is ErrorCategory.VALIDATION
