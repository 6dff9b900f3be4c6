"""Reading a run folder's evidence without ever failing: every problem becomes a note.

A report is most needed when a run went wrong, so a missing, empty or corrupt
file never stops it: the reader returns nothing, records what happened in
``problems`` (shown at the top of the page) and the renderer shows the rest.
JSON from other tools (Chaos Toolkit journals of other versions) is read with
``obj``/``items``/``num``, which turn anything unexpected into an empty value.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Beyond this a file is not parsed for the report (it stays linked as an artifact).
MAX_PARSE_BYTES = 64 * 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Evidence:
    """One folder's files; ``label`` prefixes problems ("traffic-spike/journal.json ...")."""

    folder: Path
    label: str = ""
    problems: list[str] = field(default_factory=list)

    def name(self, file: str) -> str:
        return f"{self.label}/{file}" if self.label else file

    def has(self, file: str) -> bool:
        return (self.folder / file).is_file()

    def note(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)

    def text(self, file: str, *, required: bool = True) -> str | None:
        path = self.folder / file
        if not path.is_file():
            if required:
                self.note(f"{self.name(file)} is missing")
            return None
        try:
            if path.stat().st_size > MAX_PARSE_BYTES:
                self.note(f"{self.name(file)} is too large to read here; see the raw file")
                return None
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.note(f"{self.name(file)} is unreadable ({exc.strerror})")
            return None
        if not text.strip():
            self.note(f"{self.name(file)} is empty")
            return None
        return text

    def json(
        self, file: str, *, required: bool = True, want: type | tuple[type, ...] = dict
    ) -> Any:
        """The parsed file if it holds a ``want`` (dict or list), else None and a note."""
        text = self.text(file, required=required)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.note(f"{self.name(file)} is corrupt ({str(exc)[:80]})")
            return None
        if not isinstance(data, want):
            kind = "a list" if want is list else "an object"
            self.note(f"{self.name(file)} does not hold {kind}")
            return None
        return data

    def jsonl(self, file: str, *, required: bool = True) -> list[dict[str, Any]]:
        """JSON lines; unreadable lines (a run killed mid-write) are skipped and counted."""
        text = self.text(file, required=required)
        if text is None:
            return []
        records, bad = [], 0
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict) and num(record.get("t")) is not None:
                records.append(record)
            else:
                bad += 1
        if bad:
            self.note(f"{self.name(file)}: {bad} unreadable line(s) skipped")
        return records

    def csv(self, file: str, *, required: bool = True) -> list[dict[str, str]]:
        text = self.text(file, required=required)
        if text is None:
            return []
        try:
            return [
                {str(k): str(v or "") for k, v in row.items() if k is not None}
                for row in csv.DictReader(text.splitlines())
            ]
        except csv.Error as exc:
            self.note(f"{self.name(file)} is corrupt ({exc})")
            return []

    def log_lines(self, file: str, pattern: str, limit: int) -> tuple[list[str], int]:
        """Lines of a log matching ``pattern`` (ANSI colours stripped): the last ``limit``,
        and how many matched in all."""
        text = self.text(file, required=False)
        if text is None:
            return [], 0
        wanted = re.compile(pattern)
        found = [_ANSI.sub("", line) for line in text.splitlines() if wanted.search(line)]
        return [line[:400] for line in found[-limit:]], len(found)


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def num(value: Any) -> float | None:
    """A finite number, or None (booleans and strings are not numbers here)."""
    kind = type(value)  # exact types: fast on a timeline's hundred thousand values
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    return None


def text(value: Any, limit: int = 2000) -> str:
    """Any value as display text, bounded (a value can be a whole traceback or payload)."""
    if value is None:
        return ""
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    return shown if len(shown) <= limit else shown[:limit] + f"… ({len(shown) - limit} more)"
