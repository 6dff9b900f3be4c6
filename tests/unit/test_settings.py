from __future__ import annotations

from pathlib import Path

import pytest

from gameday.errors import HarnessError
from gameday.settings import Settings


def test_defaults_match_the_reference_system() -> None:
    settings = Settings.from_env({})
    assert (settings.queue_name, settings.dlq_name) == ("orders", "orders-dlq")
    assert settings.max_receive_count == 3
    assert settings.visibility_timeout_seconds == 35
    assert settings.dlq_retention_seconds == 14 * 24 * 3600
    assert settings.state_file == Path(".gameday/stack.json")


def test_environment_overrides_each_setting() -> None:
    settings = Settings.from_env(
        {
            "GAMEDAY_STATE_DIR": "/tmp/elsewhere",
            "GAMEDAY_QUEUE_NAME": "ingest",
            "GAMEDAY_WORKER_TIMEOUT_SECONDS": "10",
            "GAMEDAY_READY_TIMEOUT_SECONDS": "7.5",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.state_dir == Path("/tmp/elsewhere")
    assert settings.queue_name == "ingest"
    assert settings.visibility_timeout_seconds == 40
    assert settings.ready_timeout_seconds == 7.5
    assert settings.region == "eu-west-1"


def test_aws_region_wins_over_default_region() -> None:
    env = {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert Settings.from_env(env).region == "ap-south-1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GAMEDAY_BACKEND_PORT", "eighty"),
        ("GAMEDAY_BACKEND_PORT", "70000"),
        ("GAMEDAY_MAX_RECEIVE_COUNT", "-1"),
        ("GAMEDAY_READY_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_bad_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(HarnessError, match=variable):
        Settings.from_env({variable: value})
