"""Fault switches: on with an expiry, off, and healing by themselves (the chaos activities)."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from gameday.chaos.faults.actions import clear_faults, set_fault
from gameday.chaos.faults.probes import active_fault
from scenarios.world import World, poll

DEFAULT_TTL_S = 300


def _switch_on(world: World, mode: str, **options: Any) -> None:
    options.setdefault("ttl_seconds", DEFAULT_TTL_S)
    world.facts["fault"] = set_fault(mode, configuration=world.configuration, **options)


@given(parsers.parse("the {mode} fault is switched on"))
@when(parsers.parse("the {mode} fault is switched on"))
def fault_on(world: World, mode: str) -> None:
    _switch_on(world, mode)


@given(parsers.parse("the {mode} fault is switched on with a {seconds:d} second expiry"))
def fault_on_expiring(world: World, mode: str, seconds: int) -> None:
    _switch_on(world, mode, ttl_seconds=seconds)


@given(parsers.parse("the {mode} fault is switched on with {latency:d} ms of latency"))
@when(parsers.parse("the {mode} fault is switched on with {latency:d} ms of latency"))
def fault_on_with_latency(world: World, mode: str, latency: int) -> None:
    _switch_on(world, mode, latency_ms=latency)


@given(parsers.parse("the {mode} fault is switched on failing {share:d}% of calls"))
def fault_on_with_error_rate(world: World, mode: str, share: int) -> None:
    _switch_on(world, mode, error_rate=share / 100)


@when("the fault is cleared")
def fault_cleared(world: World) -> None:
    clear_faults(world.configuration)


@then(parsers.parse("the API applies the {mode} fault"))
def api_applies(world: World, mode: str) -> None:
    found = active_fault(world.configuration)
    assert found == mode, f"the API applies {found!r}, not {mode!r}"


@then(parsers.parse("the fault heals by itself within {seconds:d} seconds"))
def fault_heals(world: World, seconds: int) -> None:
    # No clear is sent: the fault document's expiry alone must switch it off.
    poll(
        lambda: active_fault(world.configuration) == "none",
        seconds,
        f"the {world.facts['fault']['mode']} fault to expire by itself",
    )
