"""Latency by phase: exact from the load generator's time-sliced HDR histograms."""

from __future__ import annotations

from gameday.measure.histograms import Latencies, slice_name, slices
from gameday.measure.verdict import Measurements
from reports.latency import LATENCY, _exact_phase_row
from reports.timeline import Phase

T0 = 1_796_000_000.0  # a slice boundary (divisible by 5)


def recorded(values_by_second: dict[float, list[float]]) -> Measurements:
    m = Measurements()
    for at, values in values_by_second.items():
        for value in values:
            m.latency(LATENCY).record_ms(value)
            m.latency(slice_name(LATENCY, at)).record_ms(value)
    return m


def test_each_phase_gets_the_exact_percentiles_of_its_own_slices() -> None:
    m = recorded(
        {
            T0 + 1: [10.0] * 99 + [12.0],  # before the fault
            T0 + 6: [400.0] * 50 + [900.0] * 50,  # during
            T0 + 11: [20.0] * 100,  # after
        }
    )
    sliced = slices(m.histograms, LATENCY)
    assert sorted(sliced) == [T0, T0 + 5, T0 + 10]
    before = _exact_phase_row(Phase("before the fault", T0, T0 + 5), sliced)
    during = _exact_phase_row(Phase("during", T0 + 5, T0 + 10), sliced)
    after = _exact_phase_row(Phase("after", T0 + 10, T0 + 15), sliced)
    assert before[2] == "100" and during[2] == "100" and after[2] == "100"
    assert float(during[4]) > 850  # p95 of the fault phase: the 900 ms half, not a blend
    assert float(before[4]) < 13 and float(after[4]) < 21
    assert float(during[6]) >= 899  # max, exact to HDR's 3 significant digits


def test_slices_survive_the_merge_of_several_processes() -> None:
    one, two = recorded({T0 + 1: [10.0] * 10}), recorded({T0 + 1: [30.0] * 10})
    merged = Measurements.merged([one, two])
    sliced = slices(merged.histograms, LATENCY)
    assert Latencies.merge(sliced.values()).count == 20
