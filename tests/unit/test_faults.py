from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from system_under_test.faults import FaultSwitch

MODE, DOC = "/ingestion/failure_mode", "/ingestion/fault"


class FakeSsm:
    """Stands in for SSM's GetParameters only (the switch's one call)."""

    def __init__(self, mode: str = "none", document: Any = None, modified: float = 0.0) -> None:
        self.mode, self.document, self.modified = mode, document, modified
        self.calls = 0

    def get_parameters(self, Names: list[str]) -> dict[str, Any]:
        self.calls += 1
        stamp = datetime.fromtimestamp(self.modified, UTC)
        found = [{"Name": MODE, "Value": self.mode, "LastModifiedDate": stamp}]
        if self.document is not None:
            found.append(
                {"Name": DOC, "Value": json.dumps(self.document), "LastModifiedDate": stamp}
            )
        return {"Parameters": found}


def _switch(ssm: FakeSsm, now: float) -> FaultSwitch:
    return FaultSwitch(
        ssm, MODE, DOC, cache_seconds=1.0, default_ttl_seconds=900, clock=lambda: now
    )


def test_document_wins_and_carries_its_parameters() -> None:
    ssm = FakeSsm(
        mode="duplicate_submit",
        document={"mode": "slow_downstream", "latencyMs": 8000, "expiresAt": 2000},
    )
    fault = _switch(ssm, now=1000).current().active
    assert fault is not None
    assert (fault.mode, fault.latency_ms, fault.expires_at) == ("slow_downstream", 8000, 2000)


def test_bare_mode_lapses_after_its_default_ttl() -> None:
    ssm = FakeSsm(mode="random_fail_p30", modified=1000)
    live = _switch(ssm, now=1000 + 899).current()
    assert live.active is not None and live.active.error_rate == 0.3
    lapsed = _switch(ssm, now=1000 + 901).current()
    assert lapsed.active is None
    assert any("expired" in reason for reason in lapsed.ignored)


def test_bad_documents_are_ignored_with_a_reason() -> None:
    cases = [
        ({"mode": "slow_downstream"}, "no valid expiresAt"),
        ({"mode": "slow_downstream", "expiresAt": 10}, "expired"),
        ({"mode": "gremlins", "expiresAt": 5000}, "unknown mode"),
        ({"mode": "slow_downstream", "expiresAt": 5000, "latencyMs": "soon"}, "latencyMs"),
        ([1, 2], "not a JSON object"),
    ]
    for document, reason in cases:
        state = _switch(FakeSsm(document=document), now=1000).current()
        assert state.active is None, document
        assert any(reason in r for r in state.ignored), (document, state.ignored)


def test_reads_are_cached_for_the_cache_period() -> None:
    ssm = FakeSsm()
    now = [1000.0]
    switch = FaultSwitch(ssm, MODE, DOC, cache_seconds=1.0, clock=lambda: now[0])
    switch.current()
    now[0] += 0.5
    switch.current()
    assert ssm.calls == 1
    now[0] += 0.6
    switch.current()
    assert ssm.calls == 2


def test_unreadable_ssm_keeps_the_last_state() -> None:
    class Broken(FakeSsm):
        def get_parameters(self, Names: list[str]) -> dict[str, Any]:
            raise ConnectionError("no route")

    state = _switch(Broken(), now=1000).current()
    assert state.active is None
    assert state.error is not None and "no route" in state.error
