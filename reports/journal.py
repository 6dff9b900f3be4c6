"""What a Chaos Toolkit journal says: the hypothesis before and after, the activities, failures.

Journals differ between Chaos Toolkit versions (``steady_states`` arrived in
1.x, older ones hold ``steady_states`` only partly or not at all; ``exception``
is a list of traceback lines in some, a string in others), so every field is
read with a default and an unknown shape shows as "not recorded".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reports.evidence import items, num, obj, text
from reports.lanes import Bar

SECRET_WORDS = ("key", "secret", "token", "password", "credential")
PHASES = (
    ("before", "hypothesis before"),
    ("during", "hypothesis during"),
    ("after", "hypothesis after"),
)


@dataclass(frozen=True)
class Probe:
    name: str
    tolerance: str
    observed: str
    met: bool | None
    status: str


@dataclass(frozen=True)
class Hypothesis:
    when: str
    met: bool | None
    probes: list[Probe]


@dataclass(frozen=True)
class Activity:
    name: str
    kind: str  # action, probe
    phase: str  # hypothesis before, method, rollback, hypothesis after
    status: str
    start: float | None
    end: float | None
    duration: float | None
    output: str
    error: str  # the traceback's last line, or the failed action's output
    traceback: str


def timestamp(value: Any) -> float | None:
    """An ISO time from a journal as epoch seconds (naive times are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def hypotheses(journal: dict[str, Any]) -> list[Hypothesis]:
    states = obj(journal.get("steady_states"))
    found = []
    for key, _ in PHASES:
        state = states.get(key)
        if isinstance(state, list):  # "during" is a list of checks in some versions
            state = {"probes": [p for s in state for p in items(obj(s).get("probes"))]}
        if not isinstance(state, dict) or (key == "during" and not state.get("probes")):
            continue
        met = state.get("steady_state_met")
        found.append(
            Hypothesis(
                key,
                met if isinstance(met, bool) else None,
                [_probe(obj(p)) for p in items(state.get("probes"))],
            )
        )
    return found


def _probe(run: dict[str, Any]) -> Probe:
    activity = obj(run.get("activity"))
    met = run.get("tolerance_met")
    return Probe(
        name=str(activity.get("name") or "?"),
        tolerance=text(redact(activity.get("tolerance")), 300),
        observed=text(run.get("output"), 300) if "output" in run else text(_error(run), 300),
        met=met if isinstance(met, bool) else None,
        status=str(run.get("status") or "?"),
    )


def activities(journal: dict[str, Any]) -> list[Activity]:
    found = [
        _activity(obj(p), "hypothesis before") for p in items(_state_probes(journal, "before"))
    ]
    found += [_activity(obj(r), "method") for r in items(journal.get("run"))]
    found += [_activity(obj(r), "hypothesis after") for r in items(_state_probes(journal, "after"))]
    found += [_activity(obj(r), "rollback") for r in items(journal.get("rollbacks"))]
    return found


def _state_probes(journal: dict[str, Any], key: str) -> Any:
    return obj(obj(journal.get("steady_states")).get(key)).get("probes")


def _activity(run: dict[str, Any], phase: str) -> Activity:
    activity = obj(run.get("activity"))
    status = str(run.get("status") or "unknown")
    error = _error(run)
    lines = [line for line in error.splitlines() if line.strip()]
    if status == "failed" and not lines and run.get("output") is not None:
        lines = [text(run.get("output"), 500)]
    return Activity(
        name=str(activity.get("name") or "?"),
        kind=str(activity.get("type") or "?"),
        phase=phase,
        status=status,
        start=timestamp(run.get("start")),
        end=timestamp(run.get("end")),
        duration=num(run.get("duration")),
        output=text(redact(run.get("output")), 300),
        error=lines[-1][:500] if lines else "",
        traceback=error[-4000:],
    )


def _error(run: dict[str, Any]) -> str:
    exception = run.get("exception")
    if isinstance(exception, list):
        return "".join(str(line) for line in exception)
    return str(exception) if exception else ""


def bars(found: list[Activity]) -> list[Bar]:
    result = []
    for a in found:
        if a.start is None:
            continue
        end = a.end if a.end is not None else a.start + (a.duration or 0.0)
        css = {"method": "bar-method", "rollback": "bar-rollback"}.get(a.phase, "bar-probe")
        if a.kind == "probe" and a.phase == "method":
            css = "bar-probe"
        if a.status == "failed":
            css = "bar-failed"
        glyph = "✗" if a.status == "failed" else "✓" if a.status == "succeeded" else "·"
        tip = f"{a.phase}: {a.kind} {a.name} {a.status}"
        if a.duration is not None:
            tip += f" in {a.duration:.2f} s"
        if a.error:
            tip += f": {a.error}"
        result.append(Bar(f"{glyph} {a.name}", a.start, end, css, tip))
    return result


def redact(value: Any, key: str = "") -> Any:
    """A copy with secrets replaced by "***": any key or value naming key, secret, token,
    password or credential. The ``key`` of a Chaos Toolkit ``{"type": "env"}`` reference
    is an environment variable's name, not a secret: it stays unless the name looks secret."""
    if _secret(key):
        return "***"
    if isinstance(value, dict):
        reference = value.get("type") == "env" and isinstance(value.get("key"), str)
        return {
            k: v if reference and k == "key" and not _secret(str(v)) else redact(v, str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and _secret(value):
        return "***"
    return value


def redact_secrets(section: Any) -> Any:
    """A journal's ``secrets`` block: every value hidden, only the structure kept."""
    if isinstance(section, dict):
        return {k: redact_secrets(v) if isinstance(v, dict) else "***" for k, v in section.items()}
    return "***" if section else section


def _secret(word: str) -> bool:
    lowered = word.lower()
    return any(w in lowered for w in SECRET_WORDS)
