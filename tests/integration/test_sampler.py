"""The timeline sampler against the running stack."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from gameday.chaos import context
from gameday.chaos.slo.probes import slo_not_breached, slo_status
from gameday.measure import sources
from gameday.measure.sampler import TimelineSampler, read_timeline
from gameday.settings import ENV_METRICS_SOURCE
from tests.integration.conftest import System, order

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("source", sources.SOURCES)
def test_timeline_records_queues_circuits_fault_and_traffic(
    healthy: System, tmp_path: Path, source: str
) -> None:
    sqs = healthy.aws("sqs")
    calls: list[str] = []
    sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    sampler = TimelineSampler(
        tmp_path,
        sqs,
        healthy.resources["queue_url"],
        healthy.resources["dlq_url"],
        sources.for_stack(healthy.status, source),
        interval=0.5,
    )
    sampler.start()
    sampler.mark("phase", name="steady")
    for _ in range(20):
        assert healthy.post(order("sampled")).status_code == 202
        time.sleep(0.05)
    healthy.set_fault("slow_downstream", latencyMs=1)
    sampler.mark("fault_start", fault="slow_downstream")
    time.sleep(2.0)
    sampler.stop()
    lines = read_timeline(tmp_path)
    samples = [line for line in lines if "queue" in line]
    markers = [line["marker"] for line in lines if "marker" in line]
    assert markers == ["phase", "fault_start"]
    assert len(samples) >= 4 and not [line for line in lines if "error" in line]
    assert set(samples[0]["queue"]) == {"visible", "inFlight", "delayed"}
    assert set(samples[0]["circuits"]) == {"sqs_publish", "downstream"}
    assert samples[-1]["fault"] == "slow_downstream"
    assert sum(s["api"].get("requests", 0) for s in samples) >= 20
    assert any(s["api"].get("byStatus", {}).get("202") for s in samples)
    assert any(s["api"].get("p99Ms") for s in samples)
    assert calls == ["GetQueueAttributes"] * (2 * sampler.samples)  # one per queue per sample


def test_an_slo_over_a_window_judges_only_the_recent_seconds(
    healthy: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On CloudWatch, as the shared stack reads it (the scrape's window: tests/unit)."""
    monkeypatch.setenv(ENV_METRICS_SOURCE, sources.CLOUDWATCH)
    sampler = TimelineSampler.for_stack(tmp_path, healthy.status)
    with pytest.raises(ActivityFailed, match="gameday control"):
        slo_status("ingest-latency", window_seconds=5)  # no control, no timeline
    sampler.interval = 0.25
    sampler.start()
    context.attach_sampler(sampler)
    try:
        healthy.set_fault("slow_api", latencyMs=400)
        healthy.wait_for(lambda: healthy.active_fault() == "slow_api", 10, "slow_api on")
        for n in range(6):  # p99 400 ms: past ingest-latency's live objective (250 ms)
            assert healthy.post(order(f"window-slow-{n}")).status_code == 202
        healthy.clear_faults()
        healthy.wait_for(lambda: healthy.active_fault() == "none", 10, "the fault off")
        ended = time.monotonic() + 2.0 + sources.LAG_S  # CloudWatch's view trails
        while time.monotonic() < ended:
            assert healthy.post(order("window-fast")).status_code == 202
            time.sleep(0.05)
        assert slo_status("ingest-latency", window_seconds=1) == "held"
        assert slo_status("ingest-latency", window_seconds=60) == "breached"
        assert slo_not_breached("ingest-availability", window_seconds=60)
        with pytest.raises(ActivityFailed, match="cannot be judged over a window"):
            slo_status("zero-lost", window_seconds=5)
    finally:
        context.attach_sampler(None)
        sampler.stop()
