"""A load run split across Locust processes: shards, plans and the merged run folder."""

from __future__ import annotations

from pathlib import Path

from gameday.measure.verdict import Measurements
from loadtests.profiles import load_profiles
from loadtests.run import Collector, LoadRun, Plan


def _plan(name: str = "spike", shards: int = 1) -> Plan:
    return Plan(load_profiles()[name].as_dict(), 0, shards, "key", 7)


def test_shards_partition_the_schedule_exactly() -> None:
    plan = _plan(shards=3)
    whole = list(LoadRun(_plan()).arrivals())
    parts = [list(LoadRun(plan.for_shard(i, 3)).arrivals()) for i in range(3)]
    assert sorted(offset for part in parts for offset in part) == whole
    assert [len(part) for part in parts] == [
        len(whole) // 3 + (i < len(whole) % 3) for i in range(3)
    ]
    assert LoadRun(plan.for_shard(0, 3)).max_concurrency == 67  # 200 in flight, shared


def test_a_plan_survives_the_message_bus_and_keeps_its_shape() -> None:
    plan = _plan("step", shards=2)
    again = Plan(**plan.as_dict())
    assert LoadRun(again).profile == load_profiles()["step"]
    assert load_profiles()["step"].stretched(0.1).duration == 9.0


def test_the_collector_merges_reports_into_sums(tmp_path: Path) -> None:
    collector = Collector(tmp_path)
    runs = [LoadRun(_plan().for_shard(i, 2)) for i in range(2)]
    for n, run in enumerate(runs):
        for i in range(10 + n):
            run.measurements.count("ingest.requests")
            run.measurements.latency("ingest.latency_ms").record_ms(10 + i)
            run.acked(f"order-{n}-{i}", poison=i == 0)
        collector.add(f"worker-{n}", run.report())
    collector.add("worker-0", runs[0].report())  # a later, cumulative report: no double count
    collector.save()
    merged = Measurements.load(tmp_path)
    assert merged.counters["ingest.requests"] == 21
    assert merged.histograms["ingest.latency_ms"].count == 21
    assert len((tmp_path / "acked-ids.txt").read_text().split()) == 21
    assert (tmp_path / "poison-ids.txt").read_text().split() == ["order-0-0", "order-1-0"]
