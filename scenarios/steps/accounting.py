"""The ledger and the SLO catalogue: what every Then about outcomes is judged by.

Thresholds come from the catalogue by name (or from Examples tables), never from
here. A claim about "nothing lost" fails when the scenario accounted for fewer
orders than it meant to send: a run that sent nothing must not pass.
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from gameday.measure import verdict
from scenarios.world import World


@then("no order is lost or applied twice")
def nothing_lost_or_duplicated(world: World) -> None:
    report = world.ledger()
    assert world.sent > 0, "the scenario sent no order: nothing to account for"
    assert report.acked >= world.sent, (
        f"the ledger accounts for {report.acked} acked orders; the scenario expected at least "
        f"{world.sent} to be accepted"
    )
    assert report.drained, f"the queue did not drain: {report.in_flight} messages still queued"
    assert report.lost == 0, f"{report.lost} acked orders lost, e.g. {report.samples['lost'][:5]}"
    assert report.duplicated == 0, (
        f"{report.duplicated} orders applied twice, e.g. {report.samples['duplicated'][:5]}"
    )
    assert report.unexpected == 0, (
        f"{report.unexpected} effects or dead letters for ids never acked, "
        f"e.g. {report.samples['unexpected'][:5]}"
    )


@then("each order reached the downstream once")
def downstream_called_once(world: World) -> None:
    # The downstream dedupes effects by Idempotency-Key, which would hide a worker that
    # calls it for every copy of a message; a notification service would not dedupe.
    calls = {order_id: int(o.get("calls", 0)) for order_id, o in world.downstream_calls().items()}
    assert calls, "the scenario acked no order: nothing to account for"
    repeated = {order_id: n for order_id, n in calls.items() if n > 1}
    assert not repeated, (
        f"{len(repeated)} of {len(calls)} orders reached the downstream more than once "
        f"(calls per order, objective 1): {dict(list(repeated.items())[:5])}"
    )


@then(parsers.parse("no failed downstream call was retried within {ms:d} ms"))
def retries_backed_off(world: World, ms: int) -> None:
    gaps = {
        order_id: float(o["retryGapMs"])
        for order_id, o in world.downstream_calls().items()
        if o.get("retryGapMs") is not None
    }
    assert gaps, "no downstream call failed and was retried: the fault did not act"
    soonest = min(gaps, key=gaps.__getitem__)
    assert gaps[soonest] >= ms, (
        f"a failed call was retried after {gaps[soonest]:g} ms (order {soonest}; objective: "
        f"at least {ms} ms); {sum(1 for g in gaps.values() if g < ms)} of {len(gaps)} "
        "retried orders were retried sooner"
    )


@then("some orders were published twice")
def published_twice(world: World) -> None:
    now = world.system.metric("sut_api_published_total", kind="duplicate")
    published = now - world.facts["duplicates_published_before"]
    assert published > 0, "the API published no order twice: the fault did not act"


@then(parsers.parse("the {name} objective holds"))
def objective_holds(world: World, name: str) -> None:
    result = world.objective(name)
    assert result.status == verdict.HELD, _evidence(result)


@then(parsers.parse("every poison payload is dead-lettered within the {name} objective"))
def poison_dead_lettered(world: World, name: str) -> None:
    report = world.ledger()
    expected = world.facts.get("poison_sent", 0)
    assert expected > 0, "the scenario sent no poison payload"
    assert len(world.poison) == expected, (
        f"{len(world.poison)} poison payloads were accepted, of {expected} sent"
    )
    in_dlq = world.dead_lettered()
    missing = [order_id for order_id in world.poison if order_id not in in_dlq]
    assert not missing, f"{len(missing)} poison payloads are not in the DLQ, e.g. {missing[:5]}"
    assert report.dead_lettered >= expected, (
        f"{report.dead_lettered} orders dead-lettered, expected the {expected} poison payloads"
    )
    result = world.objective(name)
    assert result.status == verdict.HELD, _evidence(result)


@then("no healthy order is dead-lettered")
def no_healthy_order_dead_lettered(world: World) -> None:
    assert world.sent > 0, "the scenario sent no order: nothing to account for"
    result = world.objective("no-healthy-order-dead-lettered")
    assert result.status == verdict.HELD, _evidence(result)


def _evidence(result: verdict.Result) -> str:
    measured = "not measured" if result.measured is None else f"{result.measured:g}"
    return (
        f"{result.slo} / {result.objective}: {result.status}, measured {measured} "
        f"against {result.target} {result.detail}".rstrip()
    )
