"""The gameday control: timeline, guardrails, and no silent pass for a failed fault.

Declared in an experiment (or with ``chaos run --control``) as::

    controls:
      - name: gameday
        provider:
          type: python
          module: gameday.chaos.controls
          arguments:
            guardrails: [ingest-latency]     # catalogue SLOs watched live
            grace_seconds: 10
            stop_on_alarms: [api_errors_alarm]  # CloudWatch alarms: abort on ALARM

- Every activity and fault window is marked on the run's timeline
  (``timeline.jsonl``), sampled once a second while the experiment runs.
- Guardrails (catalogue SLOs watched live) abort the experiment when one stays
  breached past its grace period: the load stops, Chaos Toolkit runs the
  rollbacks, ``abort.json`` records why (``gameday run`` exits 2).
- ``stop_on_alarms`` does the same the moment a CloudWatch alarm goes to ALARM,
  as an AWS FIS stop condition does. Name an alarm, or the stack's alarm by its
  role (``dlq_alarm``, ``api_errors_alarm``, ``worker_errors_alarm``,
  ``ingest_latency_alarm``: the names on a deployed stack are CloudFormation's).
  An alarm that does not exist stops the experiment before it starts.
- A method action that failed (a fault never injected) turns the journal's
  status to "failed": Chaos Toolkit alone would end such a run "completed".
- At the end (after the rollbacks) the queue drains, every acked id is accounted
  for and the SLO catalogue judges the run folder (``verdict.json``); a breached
  SLO marks the journal ``deviated``, so ``chaos run`` exits 1 as it does for a
  deviated steady state.
"""

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from chaoslib.exceptions import InterruptExecution
from chaoslib.exit import exit_gracefully
from chaoslib.types import Activity, Configuration, Experiment, Journal, Run, Secrets

from gameday.chaos import context as run
from gameday.chaos.faults.actions import clear_faults
from gameday.chaos.load.actions import stop_load
from gameday.measure import slo, verdict
from gameday.measure.collect import collect_ledger, snapshot_baseline
from gameday.measure.guardrail import (
    ALARM_RULE_PREFIX,
    Guardrail,
    alarm_rules,
    missing_alarms,
    resolve_alarms,
    rules_for,
)
from gameday.measure.sampler import TimelineSampler
from gameday.stack.state import aws_client

logger = logging.getLogger("chaostoolkit")
FAILED_ACTIONS = "failed-actions.json"

_RUN: dict[str, Any] = {}


def before_experiment_control(
    context: Experiment,
    configuration: Configuration = None,
    secrets: Secrets = None,
    guardrails: list[str] | None = None,
    grace_seconds: float = 10.0,
    drain_timeout_seconds: float = 120.0,
    slos: list[str] | None = None,
    stop_on_alarms: list[str] | None = None,
    **kwargs: Any,
) -> None:
    try:  # the SLOs this experiment promises to keep (default: the whole catalogue)
        catalogue = slo.load_catalogue()
        catalogue = catalogue.only(list(slos)) if slos else catalogue
    except slo.CatalogueError as exc:
        raise InterruptExecution(f"gameday control: slos: {exc}") from None
    run_dir = run.run_dir(configuration, context.get("title", "chaos"))
    state = run.stack(configuration)
    alarms = _alarms(state, list(stop_on_alarms or []))
    snapshot_baseline(run_dir, state)
    sampler = TimelineSampler.for_stack(run_dir, state)
    sampler.start()
    sampler.mark("experiment_start", title=context.get("title"), metrics=sampler.source.name)
    run.attach_sampler(sampler)
    rules = rules_for(list(guardrails or []), lambda: sampler.latest, grace_seconds)
    if alarms:
        rules += alarm_rules(alarms, aws_client(state, "cloudwatch"))
    guardrail = Guardrail(rules, run_dir=run_dir, on_abort=_abort)
    guardrail.start()
    _RUN.update(
        guardrail=guardrail,
        failed=[],
        in_rollbacks=False,
        drain_timeout=drain_timeout_seconds,
        catalogue=catalogue,
    )
    logger.info(f"gameday: run folder {run_dir}")


def _alarms(state: dict[str, Any], names: list[str]) -> list[str]:
    """Alarm names, the stack's roles resolved; a missing alarm interrupts before the start."""
    resolved = resolve_alarms(state.get("resources", {}), names)
    try:
        missing = missing_alarms(aws_client(state, "cloudwatch"), resolved)
    except (ClientError, BotoCoreError) as exc:
        raise InterruptExecution(
            f"gameday control: stop_on_alarms: cannot read the alarms ({exc}); the credentials"
            " need cloudwatch:DescribeAlarms"
        ) from None
    if missing:
        raise InterruptExecution(
            f"gameday control: stop_on_alarms: no CloudWatch alarm named {', '.join(missing)}"
        )
    return resolved


def _abort(reason: dict[str, Any]) -> None:
    name = str(reason["guardrail"])
    if name.startswith(ALARM_RULE_PREFIX):
        what = f"alarm {name.removeprefix(ALARM_RULE_PREFIX)} is in ALARM"
    else:
        what = (
            f"{name} measured {reason['measured']} ({reason['objective']}) "
            f"for {reason['breachedForSeconds']} s"
        )
    logger.error(f"gameday guardrail: {what}; aborting, rollbacks follow")
    run.mark("guardrail_abort", **reason)
    exit_gracefully()  # SIGUSR1: Chaos Toolkit interrupts the method and runs the rollbacks
    stop_load()  # meanwhile the traffic stops; requests in flight finish and are recorded


def before_rollback_control(context: Experiment, **kwargs: Any) -> None:
    _RUN["in_rollbacks"] = True
    run.mark("rollbacks_start")


def before_activity_control(context: Activity, **kwargs: Any) -> None:
    run.mark("activity_start", name=context.get("name"), type=context.get("type"))


def after_activity_control(context: Activity, state: Run, **kwargs: Any) -> None:
    status = state.get("status") if isinstance(state, dict) else None
    run.mark("activity_end", name=context.get("name"), status=status)
    if context.get("type") == "action" and status == "failed" and not _RUN.get("in_rollbacks"):
        _RUN.setdefault("failed", []).append(
            {"name": context.get("name"), "error": state.get("output") or state.get("exception")}
        )


def after_experiment_control(
    context: Experiment, state: Journal, configuration: Configuration = None, **kwargs: Any
) -> None:
    stop_load()
    _clear_faults_anyway(configuration)
    if "guardrail" in _RUN:
        _RUN["guardrail"].stop()
    sampler = run.sampler()
    if sampler is not None:
        sampler.stop()
        run.attach_sampler(None)
    failed = _RUN.get("failed", [])
    run_dir = run.run_dir(configuration)
    if failed:
        (run_dir / FAILED_ACTIONS).write_text(json.dumps(failed, indent=2, default=str))
        if state.get("status") == "completed":
            state["status"] = "failed"  # a fault that never happened must not read as a pass
        logger.error(f"gameday: {len(failed)} method action(s) failed: the run failed")
    before = (state.get("steady_states") or {}).get("before") or {}
    if before and not before.get("steady_state_met"):
        # Chaos Toolkit ends such a run "completed", not deviated: no pass for us
        state["deviated"] = True
        logger.error("gameday: the steady state did not hold before the method: not a pass")
    if "catalogue" in _RUN:
        _judge(state, configuration, _RUN["catalogue"], float(_RUN["drain_timeout"]))
    _RUN.clear()


def _clear_faults_anyway(configuration: Configuration) -> None:
    """No fault outlives its experiment, even when Chaos Toolkit skipped the rollbacks.

    (Its default rollback strategy plays none after an interruption: Ctrl-C, an abort.)
    """
    try:
        clear_faults(configuration)
    except Exception as exc:  # the stack may be gone; the faults expire by themselves
        logger.warning(f"gameday: could not clear faults at the end: {exc}")


def _judge(
    journal: Journal, configuration: Configuration, catalogue: Any, drain_timeout: float
) -> None:
    run_dir = run.run_dir(configuration)
    logger.info("gameday: waiting for the drain, then accounting for every acked id")
    collect_ledger(run_dir, run.stack(configuration), drain_timeout)
    result = verdict.evaluate(catalogue, run_dir)
    verdict.write(result, run_dir)
    for line in verdict.table(result).splitlines():
        logger.info(line)
    if result.status == verdict.BREACHED:
        journal["deviated"] = True
