"""Which metrics source a stack is read from (gameday/measure/sources.py `choose`)."""

from __future__ import annotations

import pytest

from gameday.errors import HarnessError
from gameday.measure.sources import CLOUDWATCH, SCRAPE, choose, valid_period


@pytest.mark.parametrize(
    ("state", "configured", "expected"),
    [
        ({}, "", SCRAPE),  # a plain local stack scrapes its processes
        ({"stack": {"name": "gameday-reference"}}, "", CLOUDWATCH),  # made from the template
        ({"target": {"stack": "prod-like"}}, "", CLOUDWATCH),  # a deployed stack
        ({"metrics_source": CLOUDWATCH}, "", CLOUDWATCH),  # chosen at `gameday up`
        ({"metrics_source": CLOUDWATCH}, SCRAPE, SCRAPE),  # GAMEDAY_METRICS_SOURCE wins
    ],
)
def test_the_stack_chooses_and_the_environment_overrides(
    state: dict[str, object], configured: str, expected: str
) -> None:
    assert choose(state, configured) == expected


def test_a_deployed_stack_cannot_be_scraped() -> None:
    with pytest.raises(HarnessError, match="no /metrics to scrape"):
        choose({"target": {"stack": "prod-like"}}, SCRAPE)


def test_an_unknown_source_is_named() -> None:
    with pytest.raises(HarnessError, match="'prometheus' is not a metrics source"):
        choose({}, "prometheus")


def test_cloudwatch_windows_widen_to_a_period_getmetricdata_takes() -> None:
    assert [valid_period(s) for s in (0.5, 3, 5, 7, 20, 45, 61, 300)] == [
        1,
        5,
        5,
        10,
        30,
        60,
        120,
        300,
    ]
