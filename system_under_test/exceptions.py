"""Errors of the reference system, each with its category and, for the API, its HTTP status."""

from __future__ import annotations

from enum import StrEnum


class ErrorCategory(StrEnum):
    """The seed's error categories; they decide retry versus dead-letter."""

    VALIDATION = "VALIDATION"  # the message can never succeed: dead-letter at once
    PERMANENT = "PERMANENT"  # the downstream refused it for good: dead-letter at once
    TRANSIENT = "TRANSIENT"  # may succeed later: leave for redelivery
    TIMEOUT = "TIMEOUT"  # the downstream did not answer in time: redeliver
    PROCESSING = "PROCESSING"  # our own code failed unexpectedly: redeliver

    @property
    def permanent(self) -> bool:
        return self in (ErrorCategory.VALIDATION, ErrorCategory.PERMANENT)


class ProcessingError(Exception):
    """A message could not be processed; ``category`` says whether to retry."""

    def __init__(self, category: ErrorCategory, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "correlationId", ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}
