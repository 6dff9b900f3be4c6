"""The order envelope the API accepts: shape and ranges only.

Business rules (supported currencies, order limits, item totals) are the
worker's (see ``worker/validation.py``), so an envelope-valid but
business-invalid order is a real poison payload.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    # strict: a JSON true is not 1 and "3" is not a number
    quantity: int = Field(ge=1, le=10_000, strict=True)
    unitPrice: float = Field(ge=0, le=1_000_000, strict=True)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    orderId: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    amount: float = Field(gt=0, le=1_000_000, allow_inf_nan=False, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    customerId: str | None = Field(default=None, min_length=1, max_length=128)
    items: list[Item] | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    schemaVersion: int = Field(default=1, ge=1, le=100, strict=True)

    @field_validator("customerId", "note")
    @classmethod
    def no_control_characters(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value
