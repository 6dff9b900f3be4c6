"""`gameday target --stack NAME`: aim every command at a deployed stack, by its outputs only.

It writes the same state file `gameday up` writes, built from the stack's
CloudFormation outputs (``describe_stacks``) and its API keys' SecureString, so
`run`, `load`, `status`, `fault`, `dlq`, the scenarios and `chaos run` work on it
unchanged. It starts nothing; `gameday down` forgets the target.

Guard rails for a real account: with ``AWS_ENDPOINT_URL`` unset, the caller's
account (``sts get-caller-identity``) must equal ``--confirm-account``; with it
set, it must be this machine's embedded backend and ``--confirm-account`` is
refused. Either way load and faults then go only to the stack's own endpoints.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from gameday import settings as names
from gameday.errors import EXIT_OK, HarnessError
from gameday.load import is_loopback
from gameday.settings import Settings
from gameday.stack import state as statefile
from gameday.stack.cloudformation import resources_from_outputs, stack_outputs

#: The outputs a target needs beside the resources (see system_under_test/template.yaml).
ENDPOINT_OUTPUTS = {"api": "ApiUrl", "downstream": "DownstreamUrl"}


def main(stack: str, confirm_account: str | None, settings: Settings, out: TextIO) -> int:
    endpoint = os.environ.get(names.ENV_ENDPOINT_URL, "")
    env = _checked_env(endpoint, confirm_account, settings.region)
    session = _session(env)
    try:
        account = _account(session, endpoint, confirm_account)
        outputs = stack_outputs(session.client("cloudformation"), stack)
        resources = resources_from_outputs(outputs, stack)
        endpoints = _endpoints(outputs, stack, confirmed=account is not None)
        api_keys = _api_keys(session.client("ssm"), outputs, stack)
        metrics = _metrics_readable(session.client("cloudwatch"), resources.metrics_namespace)
    except (ClientError, BotoCoreError) as exc:
        raise HarnessError(f"reading stack {stack} failed: {exc}", _credentials_hint()) from None
    current = statefile.read_state(settings)
    if current is not None and statefile.is_live(current) and not current.get("target"):
        raise HarnessError(
            f"a local gameday stack is running (state in {settings.state_file})",
            "stop it with `gameday down` first, or set GAMEDAY_STATE_DIR for the target",
        )
    statefile.ensure_state_dir(settings)
    state = {
        "status": "ready",
        "state_dir": str(settings.state_dir.resolve()),
        "target": {"stack": stack, "account": account, "endpoint": endpoint or None},
        "region": settings.region,
        "api_keys": api_keys,
        "parts": {
            name: {"endpoint": url, "health_path": "/health"} for name, url in endpoints.items()
        },
        "resources": resources.as_dict(),
        "env": env,
    }
    statefile.write_state(settings, state)
    where = f"account {account}" if account else f"the embedded backend at {endpoint}"
    print(f"targeting stack {stack} in {where} ({settings.region})", file=out)
    print(f"  api        {endpoints['api']}", file=out)
    print(f"  downstream {endpoints['downstream']}", file=out)
    print(
        f"  metrics    CloudWatch {resources.metrics_namespace}"
        + ("" if metrics else " (no datapoint yet: the system publishes as it handles orders)"),
        file=out,
    )
    print(f"  state      {settings.state_file}; `gameday down` forgets the target", file=out)
    return EXIT_OK


def _checked_env(endpoint: str, confirm_account: str | None, region: str) -> dict[str, str]:
    """What later commands' AWS clients need; refuses a mixed-up aim before any call."""
    if endpoint:
        if confirm_account:
            raise HarnessError(
                f"--confirm-account is for a real AWS account, but AWS_ENDPOINT_URL points at "
                f"{endpoint}",
                "unset AWS_ENDPOINT_URL to target the account, or drop --confirm-account",
            )
        if not is_loopback(endpoint):
            raise HarnessError(
                f"AWS_ENDPOINT_URL points at {endpoint}, neither AWS nor this machine",
                "unset it to target an AWS account, or point it at `gameday up`'s backend",
            )
        credentials = {
            key: os.environ.get(key) or value for key, value in names.EMBEDDED_CREDENTIALS.items()
        }
        return {
            names.ENV_ENDPOINT_URL: endpoint,
            names.ENV_REGION: region,
            names.ENV_DEFAULT_REGION: region,
            **credentials,
        }
    if not confirm_account:
        raise HarnessError(
            "this targets a real AWS account (AWS_ENDPOINT_URL is not set), and load and "
            "faults would go to it",
            "pass --confirm-account ACCOUNT_ID, the account you mean to use",
        )
    # a real account: no credentials in the state file; every client uses the default chain
    return {names.ENV_REGION: region, names.ENV_DEFAULT_REGION: region}


def _session(env: dict[str, str]) -> Any:
    """Clients built as every later command builds them: from the state's env."""

    class _Session:
        def client(self, service: str) -> Any:
            return statefile.aws_client({"env": env}, service)

    return _Session()


def _account(session: Any, endpoint: str, confirm_account: str | None) -> str | None:
    """The confirmed account on AWS; None on the embedded backend (it has no real one)."""
    if endpoint:
        return None
    try:
        account = str(session.client("sts").get_caller_identity()["Account"])
    except NoCredentialsError:
        raise HarnessError("no AWS credentials found", _credentials_hint()) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise HarnessError(
            f"the AWS credentials were refused ({code or exc})", _credentials_hint()
        ) from None
    if account != confirm_account:
        raise HarnessError(
            f"these credentials are for account {account}, not {confirm_account}",
            "switch profile (AWS_PROFILE), or pass the account you mean to --confirm-account",
        )
    return account


def _metrics_readable(cloudwatch: Any, namespace: str) -> bool:
    """The harness reads a deployed stack's metrics and alarms in CloudWatch; True when the
    namespace already has metrics."""
    try:
        listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
        cloudwatch.describe_alarms(MaxRecords=1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "AccessDenied" in code or "Unauthorized" in code:
            raise HarnessError(
                f"these credentials cannot read CloudWatch ({code})",
                "the harness reads the system's metrics and alarms there: allow"
                " cloudwatch:ListMetrics, GetMetricData, GetMetricStatistics and DescribeAlarms",
            ) from None
        raise
    return bool(listed)


def _credentials_hint() -> str:
    return "log in again (aws sso login, or refresh AWS_PROFILE's credentials) and retry"


def _endpoints(outputs: dict[str, str], stack: str, *, confirmed: bool) -> dict[str, str]:
    endpoints = {}
    for part, output in ENDPOINT_OUTPUTS.items():
        url = outputs.get(output, "").rstrip("/")
        if not urlparse(url).hostname:
            raise HarnessError(
                f"stack {stack} has no usable output {output} ({url or 'missing'})",
                "deploy it from system_under_test/template.yaml",
            )
        if not confirmed and not is_loopback(url):
            raise HarnessError(
                f"stack {stack} on the embedded backend names {url} as its {part}, "
                "which is not on this machine",
                "load and faults stay on loopback unless you target an account",
            )
        endpoints[part] = url
    return endpoints


def _api_keys(ssm: Any, outputs: dict[str, str], stack: str) -> dict[str, str]:
    """One client and one admin key from the stack's SecureString (see docs/aws.md)."""
    name = outputs.get("ApiKeysParameter", "")
    if not name:
        raise HarnessError(f"stack {stack} has no output ApiKeysParameter", "deploy it again")
    try:
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise HarnessError(
                f"the API keys parameter {name} does not exist",
                "put it before deploying, as docs/aws.md shows",
            ) from None
        raise
    try:
        keys = json.loads(value)
        return {"client": str(keys["client"][0]), "admin": str(keys["admin"][0])}
    except (ValueError, KeyError, IndexError, TypeError):
        raise HarnessError(
            f"{name} is not {{'client': [...], 'admin': [...]}} with a key in each",
            "put it again as docs/aws.md shows",
        ) from None
