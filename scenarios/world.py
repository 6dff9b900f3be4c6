"""What the steps act on: the running reference system and one scenario's accounting window.

The system is reached only over HTTP and the AWS APIs, through the same chaos
activities, ledger and catalogue the experiments use. Each scenario gets its own
run folder: a baseline of what the stack held before it, its own acked ids, its own
ledger and verdict, so scenarios can run in any order on one shared stack.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gameday.measure import slo, verdict
from gameday.measure.collect import POISON_FILE, collect_ledger, snapshot_baseline
from gameday.measure.ledger import (
    ACKED_FILE,
    AckedIds,
    LedgerReport,
    dead_lettered_ids,
    read_run_ids,
)
from gameday.stack.state import aws_client

#: Each writer has its own ids file beside the ledger's (``read_run_ids`` reads them all).
SCENARIO_ACKED = ACKED_FILE.replace(".txt", ".scenario.txt")
SCENARIO_POISON = POISON_FILE.replace(".txt", ".scenario.txt")
POISON_CURRENCY = "XXX"  # envelope-valid, refused by the worker's business rules
#: A client paced below the API's rate limit, as a well-behaved producer is.
SEND_INTERVAL_S = 0.05
RETRY_429_FOR_S = 20.0
DRAIN_SLO = "backlog-drain"


@dataclass
class ReferenceSystem:
    """The stack the suite runs against (its state as `gameday status --json` gives it)."""

    state_dir: Path
    status: dict[str, Any]
    http: httpx.Client

    @property
    def api(self) -> str:
        return str(self.status["parts"]["api"]["endpoint"])

    @property
    def downstream(self) -> str:
        return str(self.status["parts"]["downstream"]["endpoint"])

    @property
    def client_key(self) -> str:
        return str(self.status["api_keys"]["client"])

    @property
    def resources(self) -> dict[str, str]:
        return dict(self.status["resources"])

    def aws(self, service: str) -> Any:
        return aws_client(self.status, service)

    def configuration(self, run_dir: Path) -> dict[str, Any]:
        """The Chaos Toolkit configuration our activities read (stack and run folder)."""
        return {"gameday_state_dir": str(self.state_dir), "gameday_run_dir": str(run_dir)}

    def post(
        self,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        retry_429: bool = True,
        path: str = "/events",
        method: str = "POST",
        retry_409: bool = False,
    ) -> httpx.Response:
        """One request like a well-behaved client: it waits out a 429's Retry-After (unless
        told not to), and a 409's (same key still in flight) when told to."""
        sent = {"X-Api-Key": self.client_key, "Content-Type": "application/json", **(headers or {})}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        deadline = time.monotonic() + RETRY_429_FOR_S
        while True:
            response = self.http.request(method, self.api + path, content=content, headers=sent)
            retry = (response.status_code == 429 and retry_429) or (
                response.status_code == 409 and retry_409
            )
            if not retry or time.monotonic() > deadline:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def fault_switched_on(self) -> bool:
        """Whether either switch holds anything but "none" (read from SSM, not a cache)."""
        names = [self.resources["fault_parameter"], self.resources["failure_mode_parameter"]]
        found = self.aws("ssm").get_parameters(Names=names)["Parameters"]
        for parameter in found:
            value = parameter["Value"]
            mode = json.loads(value).get("mode") if value.startswith("{") else value
            if mode not in ("none", None):
                return True
        return len(found) < len(names)  # a missing switch: clearing writes it again

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value from the API's /metrics (0 when absent)."""
        text = self.http.get(self.api + "/metrics").text
        wanted = sorted(f'{k}="{v}"' for k, v in labels.items())
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            series, _, value = line.rpartition(" ")
            metric, _, label_text = series.partition("{")
            got = label_text.rstrip("}").split(",") if label_text else []
            if metric == name and all(w in got for w in wanted):
                total += float(value)
        return total


def new_order(poison: bool = False, **fields: Any) -> dict[str, Any]:
    return {
        "orderId": f"bdd-{uuid.uuid4().hex[:16]}",
        "amount": 42.5,
        "currency": POISON_CURRENCY if poison else "USD",
        **fields,
    }


@dataclass
class World:
    """One scenario's accounting window and what its steps observed."""

    system: ReferenceSystem
    run_dir: Path
    catalogue: slo.Catalogue
    sent: int = 0  # orders this scenario meant to be accepted (the Then's minimum)
    poison: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    _report: LedgerReport | None = None

    @classmethod
    def open(cls, system: ReferenceSystem, run_dir: Path, catalogue: slo.Catalogue) -> World:
        snapshot_baseline(run_dir, system.status)
        opened = cls(system, run_dir, catalogue)
        opened.facts["duplicates_published_before"] = system.metric(
            "sut_api_published_total", kind="duplicate"
        )
        return opened

    def dead_lettered(self) -> set[str]:
        """Order ids in the DLQ now (read without consuming)."""
        sqs = self.system.aws("sqs")
        return set(dead_lettered_ids(sqs, self.system.resources["dlq_url"]))

    @property
    def configuration(self) -> dict[str, Any]:
        return self.system.configuration(self.run_dir)

    def send(
        self,
        orders: list[dict[str, Any]],
        *,
        poison: set[str] | None = None,
        retry_409: bool = False,
    ) -> list[int]:
        """Send orders one by one, paced, each with its own Idempotency-Key; record the 202s."""
        acked = AckedIds(self.run_dir, SCENARIO_ACKED)
        poisoned = AckedIds(self.run_dir, SCENARIO_POISON)
        statuses = []
        try:
            for order in orders:
                key = f"key-{order['orderId']}"
                response = self.system.post(
                    order, headers={"Idempotency-Key": key}, retry_409=retry_409
                )
                statuses.append(response.status_code)
                if response.status_code == 202:
                    acked.record(order["orderId"])
                    if poison and order["orderId"] in poison:
                        poisoned.record(order["orderId"])
                        self.poison.append(order["orderId"])
                time.sleep(SEND_INTERVAL_S)
        finally:
            acked.close()
            poisoned.close()
        self.sent += len(orders)
        return statuses

    def record_acked(self, order_id: str) -> None:
        acked = AckedIds(self.run_dir, SCENARIO_ACKED)
        acked.record(order_id)
        acked.close()

    @property
    def drain_timeout(self) -> float:
        """How long a drain may take: the catalogue's backlog-drain objective, not a copy."""
        objectives = self.catalogue.slo(DRAIN_SLO).objectives
        return max(float(o.value) for o in objectives if o.value is not None)

    def ledger(self) -> LedgerReport:
        """Drain (bounded), then account for every id this scenario acked (once per scenario)."""
        if self._report is None:
            self._report = collect_ledger(self.run_dir, self.system.status, self.drain_timeout)
        return self._report

    def downstream_calls(self) -> dict[str, dict[str, Any]]:
        """The downstream's record of each order this scenario acked (after the drain)."""
        self.ledger()
        acked = read_run_ids(self.run_dir, ACKED_FILE)
        orders = self.system.http.get(self.system.downstream + "/ledger").json()["orders"]
        return {order_id: orders.get(order_id, {}) for order_id in sorted(acked)}

    def objective(self, name: str) -> verdict.Result:
        """The catalogue's verdict on one SLO or invariant over this scenario's evidence."""
        self.ledger()
        is_slo = any(s.name == name for s in self.catalogue.slos)
        judged = verdict.evaluate(self.catalogue.only([name] if is_slo else []), self.run_dir)
        verdict.write(judged, self.run_dir)
        results = [r for r in judged.results if name in (r.slo, r.objective)]
        assert results, f"the catalogue has no SLO or invariant named {name!r}"
        # the worst of its objectives: breached, then not measured, then held
        return min(results, key=lambda r: (r.status != verdict.BREACHED, r.status == verdict.HELD))


def poll(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> float:
    """Seconds until ``predicate()`` is truthy; at the deadline, an AssertionError naming it."""
    started = time.monotonic()
    while not predicate():
        waited = time.monotonic() - started
        if waited > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(every)
    return time.monotonic() - started
