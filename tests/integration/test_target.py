"""The AWS target, proven offline: the shared stack is deployed from template.yaml through the
embedded backend's CloudFormation, and `gameday target` aims the harness at it by its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.errors import HarnessError
from gameday.settings import Settings
from gameday.target import _account
from tests.conftest import run_gameday
from tests.integration.conftest import System

pytestmark = pytest.mark.integration
STACK = Settings().stack_name


def _target(
    system: System, state_dir: Path, *options: str, endpoint: str | None = None
) -> tuple[int, str, str]:
    env = {"AWS_ENDPOINT_URL": endpoint if endpoint is not None else system.endpoint}
    result = run_gameday("target", *options, state_dir=state_dir, **env)
    return result.returncode, result.stdout, result.stderr


def test_the_shared_stack_runs_on_the_template_stacks_outputs(system: System) -> None:
    """Every resource the system runs on is the one CloudFormation made, by its output."""
    stack = system.status["stack"]
    assert stack["name"] == STACK
    print(f"template deployed into the embedded backend in {stack['deployed_seconds']} s")
    outputs = system.aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    made = {o["OutputKey"]: o["OutputValue"] for o in outputs["Outputs"]}
    resources = system.resources
    assert resources["queue_url"] == made["QueueUrl"]
    assert resources["fault_parameter"] == made["FaultParameter"] == f"/{STACK}/ingestion/fault"
    assert resources["idempotency_table"].startswith(f"{STACK}-IdempotencyTable-")
    assert made["ApiUrl"] == system.api  # the HTTP API, mapped to the local API process
    listed = system.aws("cloudformation").list_stack_resources(StackName=STACK)
    kinds = {r.get("ResourceType") for r in listed["StackResourceSummaries"]}
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::SSM::Parameter"} <= kinds
    assert "AWS::Lambda::EventSourceMapping" not in kinds  # external poller: our workers


def test_gameday_target_aims_every_command_at_the_stack_by_its_outputs(
    healthy: System, tmp_path: Path
) -> None:
    state_dir = tmp_path / ".target"
    code, out, err = _target(healthy, state_dir, "--stack", STACK)
    assert code == 0, out + err
    assert f"metrics    CloudWatch {healthy.resources['metrics_namespace']}" in out
    state = json.loads((state_dir / "stack.json").read_text())
    assert state["target"] == {"stack": STACK, "account": None, "endpoint": healthy.endpoint}
    assert state["resources"] == healthy.resources
    assert state["parts"]["api"]["endpoint"] == healthy.api
    assert state["api_keys"]["client"] == healthy.client_key  # from the SecureString
    assert "pid" not in state["parts"]["api"]  # nothing of ours runs it
    status = run_gameday("status", state_dir=state_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"target     stack {STACK}" in status.stdout

    run_dir = tmp_path / "run"
    played = run_gameday(
        *("run", "slow-downstream", "process-crashes", "--time-scale", "0.1"),
        *("--run-dir", str(run_dir)),
        state_dir=state_dir,
        timeout=300,
    )
    # circuits and consumption are read from CloudWatch, as for Lambda instances on AWS
    assert "slow-downstream      HELD" in played.stdout, played.stdout + played.stderr[-2000:]
    # killing a process needs one: on a deployed stack it fails at once, saying why
    assert "process-crashes      FAILED" in played.stdout, played.stdout
    journal = json.loads((run_dir / "process-crashes" / "journal.json").read_text())
    failed = next(r for r in journal["run"] if r["status"] == "failed")
    assert "does not expose" in str(failed["exception"]), failed["exception"]
    assert healthy.active_fault() == "none"

    forgot = run_gameday("down", state_dir=state_dir)
    assert forgot.returncode == 0 and "forgot the target" in forgot.stdout
    assert not (state_dir / "stack.json").exists()
    assert healthy.http.get(healthy.api + "/health").status_code == 200  # the stack runs on


@pytest.mark.parametrize(
    ("options", "endpoint", "says"),
    [
        (["--stack", STACK], "", "pass --confirm-account"),
        (["--stack", STACK, "--confirm-account", "123456789012"], None, "is for a real AWS"),
        (["--stack", STACK], "http://10.1.2.3:4566", "neither AWS nor this machine"),
        (["--stack", "no-such-stack"], None, "no CloudFormation stack named no-such-stack"),
    ],
    ids=["real-account-unconfirmed", "confirmed-but-endpoint-set", "remote-endpoint", "no-stack"],
)
def test_a_wrong_aim_is_refused_in_one_line(
    system: System, tmp_path: Path, options: list[str], endpoint: str | None, says: str
) -> None:
    state_dir = tmp_path / ".target"
    code, out, err = _target(system, state_dir, *options, endpoint=endpoint)
    assert code == 3, out + err
    assert says in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (state_dir / "stack.json").exists()


def test_a_stack_missing_an_output_is_named(system: System, tmp_path: Path) -> None:
    cloudformation = system.aws("cloudformation")
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
    }
    cloudformation.create_stack(StackName="half-a-stack", TemplateBody=json.dumps(template))
    try:
        code, _, err = _target(system, tmp_path / ".target", "--stack", "half-a-stack")
    finally:
        cloudformation.delete_stack(StackName="half-a-stack")
    assert code == 3
    assert "stack half-a-stack has no output ApiErrorsAlarm, DlqAlarm, DlqArn, DlqUrl" in err, err


def test_the_account_must_be_the_one_confirmed(system: System) -> None:
    """The check itself, against the backend's STS (its account is 123456789012)."""

    class Session:  # the target's session, its clients pointed at the backend
        def client(self, service: str) -> object:
            return system.aws(service)

    assert _account(Session(), "", "123456789012") == "123456789012"
    with pytest.raises(HarnessError, match="for account 123456789012, not 999999999999"):
        _account(Session(), "", "999999999999")
