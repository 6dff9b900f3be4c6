"""Errors the harness reports to its user, each with the exit code of the brief."""

from __future__ import annotations

#: Exit codes shared by every command (see README, "Exit codes").
EXIT_OK = 0
EXIT_BREACHED = 1
EXIT_ABORTED = 2
EXIT_HARNESS = 3
#: Ctrl-C, after the rollbacks ran (the shell's convention: 128 + SIGINT).
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """A problem with the harness or its environment: one line for the user, exit 3.

    ``hint`` says what to do about it.
    """

    exit_code = EXIT_HARNESS

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class StackNotRunning(HarnessError):
    def __init__(self, detail: str = "no gameday stack is running") -> None:
        super().__init__(detail, "start one with `gameday up` (or `gameday up --detach`)")
