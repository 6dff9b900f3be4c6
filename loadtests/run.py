"""One load run as Locust's processes share it, without importing Locust.

A ``Plan`` is what one process needs to drive its share of a profile: the
profile, its shard (arrival ``i`` belongs to shard ``i % count``), the API key
and the seed. The process that owns the run folder (Locust's only process, or
its master) builds plans from the environment that ``gameday load`` sets and,
when distributed, sends one to each worker, so workers need no configuration
of their own.

A ``LoadRun`` is one process's share in flight: its measurements and the ids
it got a 202 for. ``report()`` hands over what is new; the ``Collector`` (only
on the run folder's owner) appends acked ids to the run folder as reports
arrive and merges every process's counters and HDR histograms into
``measurements.json``.
"""

from __future__ import annotations

import itertools
import math
import os
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gameday.measure.collect import POISON_FILE
from gameday.measure.ledger import AckedIds
from gameday.measure.verdict import Measurements
from loadtests.profiles import PROFILES_FILE, Profile, get_profile

SENT_KEPT = 1000  # accepted orders kept for duplicate submits: memory stays flat in a soak


@dataclass(frozen=True)
class Plan:
    profile: dict[str, Any]  # Profile.as_dict(): plain data crosses Locust's message bus
    shard: int
    shards: int
    api_key: str
    seed: int | None

    @classmethod
    def from_env(cls, shard: int = 0, shards: int = 1) -> Plan:
        """The plan ``gameday load`` describes in GAMEDAY_* variables."""
        profiles = Path(os.environ.get("GAMEDAY_PROFILES_FILE", str(PROFILES_FILE)))
        profile = get_profile(os.environ.get("GAMEDAY_PROFILE", "steady"), profiles)
        scale = float(os.environ.get("GAMEDAY_PROFILE_SCALE", "1"))
        stretch = float(os.environ.get("GAMEDAY_PROFILE_TIME_SCALE", "1"))
        profile = profile.scaled(scale) if scale != 1 else profile
        profile = profile.stretched(stretch) if stretch != 1 else profile
        seed = os.environ.get("GAMEDAY_SEED")
        return cls(
            profile.as_dict(),
            shard,
            shards,
            os.environ.get("GAMEDAY_API_KEY", ""),
            int(seed) if seed else None,
        )

    def for_shard(self, shard: int, shards: int) -> Plan:
        return Plan(self.profile, shard, shards, self.api_key, self.seed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_dir_from_env() -> Path:
    return Path(os.environ.get("GAMEDAY_RUN_DIR", "reports/output/runs/locust"))


class LoadRun:
    """This process's share of the run: its arrivals, measurements and acked ids."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.profile = Profile.from_dict(plan.profile)
        self.measurements = Measurements()
        self._sent: list[tuple[dict[str, Any], str]] = []  # recent orders, to submit again
        self._sent_count = 0
        self._kinds = list(self.profile.mix)
        self._cumulative = list(itertools.accumulate(self.profile.mix.values()))
        self.claimed = False  # one user per process drives the schedule
        self._acked: list[str] = []
        self._poison: list[str] = []
        seed = None if plan.seed is None else f"{plan.seed}/{plan.shard}"
        self.rng = random.Random(seed)  # noqa: S311 (traffic mix, not security)

    @property
    def max_concurrency(self) -> int:
        """This shard's share of the profile's cap on requests in flight."""
        return max(1, math.ceil(self.profile.max_concurrency / self.plan.shards))

    def arrivals(self) -> Iterator[float]:
        """Intended start offsets (seconds) of this shard's share of the schedule."""
        for index, offset in enumerate(self.profile.intended_starts()):
            if index % self.plan.shards == self.plan.shard:
                yield offset

    def kind(self) -> str:
        if len(self._kinds) == 1:
            choice = self._kinds[0]
        else:
            choice = self.rng.choices(self._kinds, cum_weights=self._cumulative)[0]
        needs_history = choice in ("duplicate", "key_reuse")
        return "valid" if needs_history and not self._sent else choice

    def remember(self, order: dict[str, Any], key: str) -> None:
        """Keep an accepted order for duplicate submits (the last SENT_KEPT of them)."""
        if len(self._sent) < SENT_KEPT:
            self._sent.append((order, key))
        else:
            self._sent[self._sent_count % SENT_KEPT] = (order, key)
        self._sent_count += 1

    def earlier_order(self) -> tuple[dict[str, Any], str]:
        return self.rng.choice(self._sent)

    def acked(self, order_id: str, *, poison: bool) -> None:
        self._acked.append(order_id)
        if poison:
            self._poison.append(order_id)

    def report(self) -> dict[str, Any]:
        """Ids acked since the last report, and all measurements so far."""
        acked, self._acked = self._acked, []
        poison, self._poison = self._poison, []
        return {"acked": acked, "poison": poison, "measurements": self.measurements.as_dict()}


class Collector:
    """Writes the run folder from the reports of every process taking part."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._acked = AckedIds(run_dir)
        self._poison = AckedIds(run_dir, POISON_FILE)
        self._latest: dict[str, Measurements] = {}  # by process; each report is cumulative

    def add(self, source: str, report: dict[str, Any]) -> None:
        for order_id in report["acked"]:
            self._acked.record(order_id)
        for order_id in report["poison"]:
            self._poison.record(order_id)
        self._latest[source] = Measurements.from_dict(report["measurements"])

    def save(self) -> None:
        self._acked.flush()
        self._poison.flush()
        Measurements.merged(self._latest.values()).save(self.run_dir)
