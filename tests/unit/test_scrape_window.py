"""The scrape source's window over the API's cumulative Prometheus counters
(gameday/measure/sources.py: ScrapeSource.over_last, api_between)."""

from __future__ import annotations

from typing import Any

from gameday.measure.sources import ScrapeSource, api_between


def _scrape(t: float, ok: float, errors: float, fast: float, slow: float) -> dict[str, Any]:
    """Cumulative counts: answers by status, and latency buckets (le 0.1 s, 0.5 s, +Inf)."""
    return {
        "t": t,
        "by_status": {"202": ok, "503": errors},
        "buckets": {0.1: fast, 0.5: fast + slow, float("inf"): fast + slow},
    }


def test_the_window_is_the_difference_of_two_scrapes() -> None:
    window = api_between(_scrape(0, 100, 0, 100, 0), _scrape(10, 190, 10, 100, 100))
    assert window["requests"] == 100 and window["rps"] == 10.0
    assert window["byStatus"] == {"202": 90, "503": 10} and window["errorRate"] == 0.1
    assert (window["p50Ms"], window["p99Ms"]) == (500.0, 500.0)  # the bucket's upper edge


def test_over_last_starts_at_the_newest_scrape_old_enough() -> None:
    source = ScrapeSource("http://127.0.0.1:1", {})
    source._scrapes.extend(  # slow answers long ago, fast ones in the last 5 s
        [_scrape(0, 0, 0, 0, 0), _scrape(50, 50, 0, 0, 50), _scrape(55, 100, 0, 50, 50)]
    )
    recent = source.over_last(5)
    assert recent["requests"] == 50 and recent["p99Ms"] == 100.0
    assert source.over_last(60)["p99Ms"] == 500.0  # the whole minute holds the slow ones
    source.close()
