"""What `gameday run` hands each `chaos run`: the stack's AWS environment, so chaostoolkit-aws
activities in an experiment reach the same stack as ours do."""

from __future__ import annotations

from pathlib import Path

from gameday.run import stack_env
from gameday.settings import Settings
from gameday.stack.state import write_state


def test_the_chaos_process_gets_the_stacks_aws_environment(tmp_path: Path) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_REGION": "eu-west-1"}
    write_state(Settings(state_dir=tmp_path), {"env": env, "parts": {}})
    assert stack_env(tmp_path) == env


def test_no_stack_state_adds_nothing(tmp_path: Path) -> None:
    assert stack_env(tmp_path) == {}


def test_the_stacks_alarm_names_are_exported_for_experiments(tmp_path: Path) -> None:
    resources = {"ingest_latency_alarm": "stack-IngestLatencyAlarm-X1", "queue_url": "q"}
    write_state(Settings(state_dir=tmp_path), {"env": {}, "parts": {}, "resources": resources})
    assert stack_env(tmp_path) == {"GAMEDAY_INGEST_LATENCY_ALARM": "stack-IngestLatencyAlarm-X1"}
