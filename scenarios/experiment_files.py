"""Small Chaos Toolkit experiments built in code, in the shipped experiments' shape.

The guardrail scenario and the integration tests both play them with the real
``gameday run`` / ``chaos run``.
"""

from __future__ import annotations

from typing import Any


def action(name: str, target: str, func: str, **arguments: Any) -> dict[str, Any]:
    """A method or rollback action calling ``gameday.chaos.<target>.actions.<func>``."""
    module = f"gameday.chaos.{target}.actions"
    provider = {"type": "python", "module": module, "func": func, "arguments": arguments}
    return {"type": "action", "name": name, "provider": provider}


def experiment(
    method: list[dict[str, Any]],
    controls: dict[str, Any],
    title: str = "A test experiment",
    description: str = "built in code",
) -> dict[str, Any]:
    """An experiment with our control (its arguments: guardrails, SLOs) and a fault rollback."""
    return {
        "version": "1.0.0",
        "title": title,
        "description": description,
        "configuration": {
            "gameday_state_dir": {"type": "env", "key": "GAMEDAY_STATE_DIR", "default": ".gameday"},
            "gameday_run_dir": {"type": "env", "key": "GAMEDAY_RUN_DIR", "default": ""},
        },
        "controls": [
            {
                "name": "gameday",
                "provider": {
                    "type": "python",
                    "module": "gameday.chaos.controls",
                    "arguments": controls,
                },
            }
        ],
        "steady-state-hypothesis": {"title": "nothing to check", "probes": []},
        "method": method,
        "rollbacks": [action("clear-every-fault", "faults", "clear_faults")],
    }


def slow_api_under_traffic(latency_ms: int) -> list[dict[str, Any]]:
    """A method that slows the API, then runs the steady profile (30 s) and waits."""
    return [
        action("slow-the-api", "faults", "set_fault", mode="slow_api", latency_ms=latency_ms),
        action("traffic", "load", "start_load", profile="steady", time_scale=1.0),
        action("wait", "load", "wait_for_load", timeout_seconds=120),
    ]
