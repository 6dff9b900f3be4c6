"""The reference system's SAM template, deployed through CloudFormation, read back by its outputs.

Two users: ``gameday up --from-template`` deploys the template into the embedded
backend (moto's CloudFormation makes the queues, tables, parameters, roles and the
API function) and runs the local processes against what the stack made, and
``gameday target`` reads a deployed stack's outputs, offline or on AWS. Either
way the harness learns every resource name from the outputs, never from Settings.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import fields
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gameday.errors import HarnessError
from gameday.settings import Settings
from gameday.stack.provision import Resources

#: The bundled template (carried in the wheel as package data).
TEMPLATE = Path(str(package_files.files("system_under_test") / "template.yaml"))
#: Where the embedded deploy uploads the functions' code, as `sam package` would.
CODE_BUCKET, CODE_KEY = "gameday-artifacts", "reference-system.zip"
DEPLOY_TIMEOUT_S = 120.0
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_FAILED = {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS"}


def output_name(field: str) -> str:
    """The stack output holding a Resources field: queue_url -> QueueUrl."""
    return "".join(word.capitalize() for word in field.split("_"))


def resources_from_outputs(outputs: dict[str, str], stack: str) -> Resources:
    """Every resource name the harness needs, from a stack's outputs; a missing one is named."""
    wanted = {f.name: output_name(f.name) for f in fields(Resources)}
    missing = sorted(name for name in wanted.values() if not outputs.get(name))
    if missing:
        raise HarnessError(
            f"stack {stack} has no output {', '.join(missing)}",
            "deploy it from system_under_test/template.yaml (its outputs are what we read)",
        )
    return Resources(**{f: outputs[o] for f, o in wanted.items()})


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """A deployed stack's outputs; a stack that does not exist or did not finish is an error."""
    try:
        (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise HarnessError(
                f"no CloudFormation stack named {stack} in this account and region",
                "check --stack and AWS_REGION, or deploy it (docs/aws.md)",
            ) from None
        raise
    status = found["StackStatus"]
    if status not in _DONE:
        raise HarnessError(
            f"stack {stack} is {status}, not deployed",
            "wait for its deployment to finish, or fix it and deploy again",
        )
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


# -- the embedded deploy ------------------------------------------------------------------------
def translate(template: dict[str, Any], code_uri: str, region: str) -> dict[str, Any]:
    """SAM to plain CloudFormation, offline (`sam package` has put the code at ``code_uri``)."""
    import os

    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template names no AWS managed policy: nothing to look up
        def load(self) -> dict[str, str]:
            return {}

    packaged = json.loads(json.dumps(template))
    packaged["Globals"]["Function"]["CodeUri"] = code_uri
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the partition from it
    try:
        return dict(transform(packaged, {}, NoManagedPolicies()))
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def for_embedded_backend(translated: dict[str, Any], api_url: str) -> dict[str, Any]:
    """The three changes moto needs; everything else deploys as it would on AWS.

    - moto's CloudFormation has no API Gateway v2: the HTTP API, its stage and the
      permission that lets it invoke the API function go, and the ``ApiUrl`` output
      names the local API process that serves the same routes.
    - moto 5 reads ``AWS::SSM::Parameter`` tags as a list of Key/Value pairs, where
      CloudFormation documents a map: the map is rewritten as that list.
    - moto keeps ``AWS::NoValue`` in a list as a null (an IAM role's policies then fail):
      the AWS FIS extension's settings, off offline (``FisEnabled`` false), are removed.
    """
    adapted: dict[str, Any] = _without_condition(json.loads(json.dumps(translated)), "FisEnabled")
    resources = adapted["Resources"]
    http_apis = {n for n, r in resources.items() if r["Type"].startswith("AWS::ApiGatewayV2::")}
    for name in list(resources):
        resource = resources[name]
        if name in http_apis or _refers_to(resource, http_apis):
            del resources[name]
        elif resource["Type"] == "AWS::SSM::Parameter" and isinstance(
            tags := resource["Properties"].get("Tags"), dict
        ):
            resource["Properties"]["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    adapted["Outputs"]["ApiUrl"]["Value"] = api_url
    return adapted


_NO_VALUE = {"Ref": "AWS::NoValue"}


def _without_condition(value: Any, condition: str) -> Any:
    """``value`` with every ``Fn::If`` on a false ``condition`` replaced by its else branch,
    and what that leaves as ``AWS::NoValue`` dropped."""
    if isinstance(value, dict):
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and branches[0] == condition:
            return _without_condition(branches[2], condition)
        kept = {k: _without_condition(v, condition) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v != _NO_VALUE}
    if isinstance(value, list):
        kept_items = [_without_condition(v, condition) for v in value]
        return [v for v in kept_items if v != _NO_VALUE]
    return value


def _refers_to(value: Any, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"{name}"' in text for name in names)


def code_archive() -> bytes:
    """The reference system's package as a Lambda zip (what `sam build` puts first)."""
    root = Path(str(package_files.files("system_under_test")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, Path("system_under_test") / path.relative_to(root))
    return buffer.getvalue()


def deploy_embedded(
    session: Any,
    settings: Settings,
    stack: str,
    *,
    api_url: str,
    downstream_url: str,
    api_keys: dict[str, str],
    progress: Callable[[str], None],
) -> tuple[Resources, dict[str, str]]:
    """Deploy the template into the embedded backend, external-poller mode; returns what it made.

    The API keys go to an SSM SecureString first, as docs/aws.md asks of a real
    deploy, so `gameday target` finds them the same way on both.
    """
    from samtranslator.yaml_helper import yaml_parse

    try:
        s3 = session.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=code_archive())
        keys_parameter = f"/{stack}/api-keys"
        session.client("ssm").put_parameter(
            Name=keys_parameter,
            Type="SecureString",
            Value=json.dumps({"client": [api_keys["client"]], "admin": [api_keys["admin"]]}),
            Overwrite=True,
        )
        template = yaml_parse(TEMPLATE.read_text())
        translated = translate(template, f"s3://{CODE_BUCKET}/{CODE_KEY}", settings.region)
        body = json.dumps(for_embedded_backend(translated, api_url))
        parameters = {
            "QueueConsumer": "external",
            "DownstreamUrl": downstream_url,
            "ApiKeysParameter": keys_parameter,
            "WorkerTimeoutSeconds": str(settings.worker_timeout_seconds),
            "QueueVisibilityTimeoutSeconds": str(settings.visibility_timeout_seconds),
            "AlarmPeriodSeconds": str(settings.alarm_period_seconds),
        }
        cloudformation = session.client("cloudformation")
        progress(f"deploying {TEMPLATE.name} as CloudFormation stack {stack}")
        cloudformation.create_stack(
            StackName=stack,
            TemplateBody=body,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
            Tags=[{"Key": "gameday:system", "Value": "reference"}],
        )
        _wait_deployed(cloudformation, stack)
        outputs = stack_outputs(cloudformation, stack)
    except (ClientError, BotoCoreError) as exc:
        raise HarnessError(
            f"deploying the template into the embedded backend failed: {exc}",
            "run `gameday up` without --from-template, and report this with the backend's log",
        ) from None
    return resources_from_outputs(outputs, stack), outputs


def _wait_deployed(cloudformation: Any, stack: str) -> None:
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status in _DONE:
            return
        if status in _FAILED or time.monotonic() > deadline:
            events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
            reasons = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '?')}"
                for e in events
                if e["ResourceStatus"].endswith("FAILED")
            ]
            raise HarnessError(
                f"stack {stack} is {status}: {'; '.join(reasons[:3]) or 'no reason given'}",
                "see the backend's log in the state folder",
            )
        time.sleep(0.2)
