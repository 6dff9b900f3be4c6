"""The system under test: running and ready."""

from __future__ import annotations

from pytest_bdd import given

from scenarios.world import World, poll

READY_WITHIN_S = 30.0


@given("the reference system is running")
def reference_system_is_running(world: World) -> World:
    """The API answers /ready with every dependency up (polled to a deadline)."""
    http, api = world.system.http, world.system.api
    poll(
        lambda: http.get(api + "/ready").status_code == 200,
        READY_WITHIN_S,
        "the API's /ready to answer 200",
    )
    return world
