"""The report's environment section: versions, what the run recorded, every raw artifact."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reports.charts import fmt
from reports.evidence import obj
from reports.journal import redact, redact_secrets

#: Distributions whose versions matter to a run (importlib.metadata names).
PACKAGES = ("gameday-harness", "chaostoolkit", "chaostoolkit-lib", "locust", "moto")
#: Files above this are listed with their size, not linked: a browser chokes on them.
HUGE_BYTES = 100 * 1024 * 1024
MAX_ARTIFACTS = 2000
#: What a run summary may record about how it was started, under any of these names.
RECORDED = {
    "target": ("target", "host", "endpoint", "api"),
    "seed": ("seed",),
    "command line": ("command", "commandLine", "argv", "command_line"),
    "time scale": ("timeScale", "time_scale"),
}


@dataclass(frozen=True)
class Artifact:
    path: str
    href: str  # relative, percent-encoded; empty for a file too large to link
    size: str


def versions() -> list[tuple[str, str]]:
    found = [("python", f"{platform.python_version()} ({sys.implementation.name})")]
    for name in PACKAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


def recorded(summary: dict[str, Any], journal: dict[str, Any]) -> list[tuple[str, str]]:
    """Target, seed and command line as the run folder recorded them (redacted)."""
    found = []
    for label, keys in RECORDED.items():
        value = next((summary[k] for k in keys if k in summary), None)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        shown = redact(value, label)
        found.append((label, "not recorded in this run folder" if value is None else str(shown)))
    for key in ("chaoslib-version", "platform", "node"):
        if journal.get(key):
            found.append((f"journal {key}", str(journal[key])))
    return found


def artifacts(root: Path, skip: tuple[str, ...]) -> tuple[list[Artifact], int]:
    """Every file under the run folder (relative links), and how many were left out."""
    found: list[Artifact] = []
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel in skip:
            continue
        if len(found) >= MAX_ARTIFACTS:
            return found, len(files) - len(found) - len(skip)
        try:
            size = path.stat().st_size
        except OSError:
            continue
        href = "" if size > HUGE_BYTES else quote(rel)
        found.append(Artifact(rel, href, _size(size)))
    return found, 0


def _size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{fmt(size / scale)} {unit}"
    return f"{size} B"


def configuration(journal: dict[str, Any]) -> dict[str, Any]:
    """The experiment's configuration, secrets and controls, secrets hidden."""
    experiment = obj(journal.get("experiment"))
    shown: dict[str, Any] = {}
    for key in ("configuration", "controls", "extensions"):
        if key in experiment:
            shown[key] = redact(experiment[key])
    if "secrets" in experiment:
        shown["secrets"] = redact_secrets(experiment["secrets"])
    return shown
