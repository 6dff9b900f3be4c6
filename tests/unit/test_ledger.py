"""Ledger arithmetic: each kind of breach is counted, and only that one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gameday.measure.ledger import AckedIds, read_ids, reconcile, wait_for_drain


def test_a_clean_run_passes() -> None:
    report = reconcile(["a", "b", "c"], {"a": 1, "b": 1}, {"c": 1})
    assert (report.acked, report.applied, report.dead_lettered) == (3, 2, 1)
    assert (report.lost, report.duplicated, report.unexpected) == (0, 0, 0)
    assert report.passed


def test_lost_ids_are_counted_and_sampled() -> None:
    report = reconcile(["a", "b", "c"], {"a": 1}, {})
    assert report.lost == 2
    assert report.samples["lost"] == ["b", "c"]
    assert not report.passed


def test_duplicated_effects_fail_the_run() -> None:
    report = reconcile(["a", "b"], {"a": 2, "b": 1}, {})
    assert report.duplicated == 1
    assert report.samples["duplicated"] == ["a"]
    assert report.lost == 0
    assert not report.passed


def test_effects_and_dead_letters_for_unacked_ids_are_unexpected() -> None:
    report = reconcile(["a"], {"a": 1, "ghost": 1}, {"spectre": 1, "<unreadable>": 2})
    assert report.unexpected == 3
    assert report.samples["unexpected"] == ["<unreadable>", "ghost", "spectre"]
    assert not report.passed


def test_replayed_acks_count_once_and_applied_wins_over_dead_lettered() -> None:
    report = reconcile(["a", "a", "b"], {"a": 1, "b": 1}, {"b": 1})
    assert (report.acked, report.applied, report.dead_lettered) == (2, 2, 0)
    assert report.passed


def test_an_undrained_queue_fails_even_without_lost_ids() -> None:
    report = reconcile(["a"], {"a": 1}, {}, in_flight=7, drained=False, drain_seconds=30.0)
    assert report.in_flight == 7
    assert not report.passed
    assert report.as_dict()["passed"] is False


def test_acked_ids_file_round_trips_across_threads(tmp_path: Path) -> None:
    acked = AckedIds(tmp_path / "run")
    threads = [
        threading.Thread(target=lambda n=n: [acked.record(f"id-{n}-{i}") for i in range(500)])
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    acked.close()
    ids = list(read_ids(acked.path))
    assert len(ids) == len(set(ids)) == 2000 == acked.count
    with pytest.raises(ValueError):
        AckedIds(tmp_path / "run").record("two\nlines")


def test_wait_for_drain_reports_the_cut_off() -> None:
    depths = iter([3, 2, 0, 0, 0, 0, 0, 0, 0])
    drained, seconds, left = wait_for_drain(lambda: next(depths, 0), timeout=5, settle=0.5)
    assert drained and left == 0 and 0.1 <= seconds < 1.0  # empty from the third probe
    drained, seconds, left = wait_for_drain(lambda: 4, timeout=0.5)
    assert not drained and left == 4 and seconds >= 0.5
