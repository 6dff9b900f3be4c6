"""Load profiles and the open-model schedule, without importing Locust.

A profile is k6's ramping-arrival-rate: a start rate and stages, each ramping
linearly to its ``target`` rate (requests/s) over its ``duration``; requests
start at their intended times whatever the responses take, up to
``maxConcurrency`` in flight (arrivals past that are dropped and counted).
``mix`` weighs the kinds of request: ``valid`` orders, ``poison`` (envelope-valid,
business-invalid), ``duplicate`` (an earlier order's key again), ``burst_duplicate``
(one new order sent three times at once) and ``key_reuse`` (an earlier key with
another payload, which the API must refuse with 422).

Profiles live in ``loadtests/profiles.yaml``; a wrong field is named with the
file and the profile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PROFILES_FILE = Path(str(resources.files(__package__).joinpath("profiles.yaml")))  # bundled
KINDS = ("valid", "poison", "duplicate", "burst_duplicate", "key_reuse")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ProfileError(ValueError):
    """A profile problem; the message names the file, the profile and the field."""


@dataclass(frozen=True)
class Stage:
    duration: float  # seconds
    target: float  # requests/s at the end of the stage


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    start_rate: float
    stages: tuple[Stage, ...]
    max_concurrency: int
    mix: dict[str, float]

    @property
    def duration(self) -> float:
        return sum(stage.duration for stage in self.stages)

    def scaled(self, factor: float) -> Profile:
        """The same shape at ``factor`` times the rates (for bigger targets)."""
        return Profile(
            self.name,
            self.description,
            self.start_rate * factor,
            tuple(Stage(s.duration, s.target * factor) for s in self.stages),
            self.max_concurrency,
            self.mix,
        )

    def stretched(self, factor: float) -> Profile:
        """The same rates over ``factor`` times the durations (0.1: a tenth of the time)."""
        return Profile(
            self.name,
            self.description,
            self.start_rate,
            tuple(Stage(s.duration * factor, s.target) for s in self.stages),
            self.max_concurrency,
            self.mix,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for sending a profile from Locust's master to its workers."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            data["name"],
            data["description"],
            data["start_rate"],
            tuple(Stage(**stage) for stage in data["stages"]),
            data["max_concurrency"],
            dict(data["mix"]),
        )

    def intended_starts(self) -> Iterator[float]:
        """Seconds from the start at which each request is meant to start."""
        offset, rate = 0.0, self.start_rate
        carry = 0.0  # arrivals accrued but not yet due (a fraction below 1)
        for stage in self.stages:
            if stage.duration == 0:
                rate = stage.target
                continue
            slope = (stage.target - rate) / stage.duration
            emitted = 0
            while True:
                t = _time_for(emitted + 1 - carry, rate, slope, stage.duration)
                if t is None:
                    break
                yield offset + t
                emitted += 1
            carry += rate * stage.duration + slope * stage.duration**2 / 2 - emitted
            offset += stage.duration
            rate = stage.target

    def rate_at(self, elapsed: float) -> float:
        rate, offset = self.start_rate, 0.0
        for stage in self.stages:
            if elapsed < offset + stage.duration:
                return rate + (stage.target - rate) * (elapsed - offset) / stage.duration
            offset += stage.duration
            rate = stage.target
        return rate


def _time_for(count: float, rate: float, slope: float, duration: float) -> float | None:
    """Time into a stage at which ``count`` arrivals have accumulated, or None past its end."""
    if count <= 0:
        return 0.0
    if abs(slope) < 1e-12:
        if rate <= 0:
            return None
        t = count / rate
    else:
        discriminant = rate * rate + 2 * slope * count
        if discriminant < 0:
            return None
        t = (-rate + math.sqrt(discriminant)) / slope
    return t if 0 <= t <= duration else None


def load_profiles(path: Path = PROFILES_FILE) -> dict[str, Profile]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise ProfileError(f"{path}: must be a mapping with a 'profiles' mapping")
    return {name: _profile(path, str(name), raw) for name, raw in data["profiles"].items()}


def get_profile(name: str, path: Path = PROFILES_FILE) -> Profile:
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"{path}: no profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]


def _profile(path: Path, name: str, raw: Any) -> Profile:
    def fail(field: str, problem: str) -> ProfileError:
        return ProfileError(f"{path}: profile {name!r}: {field}: {problem}")

    if not isinstance(raw, dict):
        raise fail("(profile)", "must be a mapping")
    unknown = set(raw) - {"description", "startRate", "stages", "maxConcurrency", "mix"}
    if unknown:
        raise fail(sorted(unknown)[0], "is not a profile field")
    start = _number(raw.get("startRate", 0), fail, "startRate")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise fail("stages", "must be a non-empty list of {duration, target}")
    stages = []
    for i, stage in enumerate(stages_raw):
        if not isinstance(stage, dict) or set(stage) != {"duration", "target"}:
            raise fail(f"stages[{i}]", "must be {duration: 30s, target: <requests/s>}")
        stages.append(
            Stage(
                _duration(stage["duration"], fail, f"stages[{i}].duration"),
                _number(stage["target"], fail, f"stages[{i}].target"),
            )
        )
    concurrency = raw.get("maxConcurrency", 100)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise fail("maxConcurrency", f"{concurrency!r} must be a whole number >= 1")
    mix = raw.get("mix", {"valid": 1.0})
    if not isinstance(mix, dict) or not mix:
        raise fail("mix", "must map request kinds to weights")
    for kind, weight in mix.items():
        if kind not in KINDS:
            raise fail(f"mix.{kind}", f"unknown kind (known: {', '.join(KINDS)})")
        _number(weight, fail, f"mix.{kind}")
    if sum(mix.values()) <= 0:
        raise fail("mix", "weights must not all be zero")
    return Profile(
        name,
        str(raw.get("description", "")),
        start,
        tuple(stages),
        concurrency,
        {k: float(v) for k, v in mix.items()},
    )


def _number(value: Any, fail: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise fail(field, f"{value!r} must be a number >= 0")
    return float(value)


def _duration(value: Any, fail: Any, field: str) -> float:
    match = _DURATION.match(str(value).strip())
    if not match:
        raise fail(field, f"{value!r} is not like 500ms, 30s, 5m or 1h")
    return float(match.group(1)) * _UNIT[match.group(2)]
