"""The SAM template: it translates to plain CloudFormation offline, and it declares the same
queues, tables, parameters and alarm as gameday/stack/provision.py makes. (cfn-lint runs
beside ruff and mypy in .ci/run.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from gameday.settings import Settings
from gameday.stack.cloudformation import for_embedded_backend
from gameday.stack.provision import provision
from system_under_test import config as sut_config
from system_under_test.telemetry import NAMESPACE

TEMPLATE = Path(__file__).resolve().parents[2] / "system_under_test" / "template.yaml"
#: Template resource -> the Settings field naming what provision.py makes for it.
QUEUES = {"OrdersQueue": "queue_name", "OrdersDeadLetterQueue": "dlq_name"}
TABLES = {
    "IdempotencyTable": "idempotency_table",
    "RateLimitTable": "rate_limit_table",
    "LedgerTable": "ledger_table",
    "EffectsTable": "effects_table",
}
PARAMETERS = {"FailureModeParameter": "failure_mode_parameter", "FaultParameter": "fault_parameter"}
ALARMS = {
    "DlqNotEmptyAlarm": "dlq_alarm",
    "ApiServerErrorsAlarm": "api_errors_alarm",
    "WorkerErrorsAlarm": "worker_errors_alarm",
    "IngestLatencyAlarm": "ingest_latency_alarm",
}


def _template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return dict(yaml_parse(TEMPLATE.read_text()))


def test_the_template_translates_to_cloudformation_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the template names none: nothing to look up in IAM
        def load(self) -> dict[str, str]:
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    packaged = _template()
    # as `sam package` leaves it: the code uploaded, the template pointing at it
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artifacts/reference.zip"
    translated = transform(packaged, {}, NoManagedPolicies())
    assert "Transform" not in translated
    kinds = [r["Type"] for r in translated["Resources"].values()]
    assert kinds.count("AWS::Lambda::Function") == 3, kinds  # api, worker, downstream
    assert "AWS::ApiGatewayV2::Api" in kinds and "AWS::Lambda::Url" in kinds
    (mapping,) = [r for r in translated["Resources"].values() if r["Type"].endswith("Mapping")]
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "MaximumConcurrency" in mapping["Properties"]["ScalingConfig"]
    untagged = [
        name
        for name, r in translated["Resources"].items()
        if r["Type"].startswith(("AWS::SQS", "AWS::DynamoDB", "AWS::SSM", "AWS::Lambda::Function"))
        and "Tags" not in r["Properties"]
    ]
    assert not untagged, f"resources without tags: {untagged}"
    # the AWS FIS extension's wiring is there on AWS, and gone for the embedded backend
    functions = [
        r for r in translated["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert all("Fn::If" in f["Properties"]["Layers"] for f in functions)
    offline = json.dumps(for_embedded_backend(translated, "http://127.0.0.1:1")["Resources"])
    assert "FisEnabled" not in offline and "AWS::NoValue" not in offline


def _provisioned() -> dict[str, Any]:
    """What provision.py makes, read back from moto (in process)."""
    from moto import mock_aws

    settings = Settings()
    with mock_aws():
        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        made = provision(session, settings)
        sqs, dynamodb, ssm = (session.client(s) for s in ("sqs", "dynamodb", "ssm"))
        queues = {
            name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            for name, url in (
                ("OrdersQueue", made.queue_url),
                ("OrdersDeadLetterQueue", made.dlq_url),
            )
        }
        tables = {}
        for resource, field in TABLES.items():
            table = getattr(settings, field)
            ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            tables[resource] = {
                "KeySchema": dynamodb.describe_table(TableName=table)["Table"]["KeySchema"],
                "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
            }
        parameters = {
            resource: ssm.get_parameter(Name=getattr(settings, field))["Parameter"]
            for resource, field in PARAMETERS.items()
        }
        names = {resource: getattr(made, field) for resource, field in ALARMS.items()}
        found = session.client("cloudwatch").describe_alarms(AlarmNames=list(names.values()))
        by_name = {a["AlarmName"]: a for a in found["MetricAlarms"]}
        alarms = {resource: by_name[name] for resource, name in names.items()}
    return {
        "queues": queues,
        "tables": tables,
        "parameters": parameters,
        "alarms": alarms,
        "settings": settings,
    }


def test_the_template_and_provision_py_agree() -> None:
    template, made = _template(), _provisioned()
    resources, defaults = template["Resources"], template["Parameters"]
    settings: Settings = made["settings"]
    orders, dlq = made["queues"]["OrdersQueue"], made["queues"]["OrdersDeadLetterQueue"]
    assert int(orders["VisibilityTimeout"]) == defaults["QueueVisibilityTimeoutSeconds"]["Default"]
    assert defaults["WorkerTimeoutSeconds"]["Default"] == settings.worker_timeout_seconds
    redrive = resources["OrdersQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == json.loads(orders["RedrivePolicy"])["maxReceiveCount"]
    retention = resources["OrdersDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert retention == int(dlq["MessageRetentionPeriod"])
    for resource, table in made["tables"].items():
        properties = resources[resource]["Properties"]
        assert properties["KeySchema"] == table["KeySchema"], resource
        ttl = properties.get("TimeToLiveSpecification", {}).get("AttributeName")
        assert ttl == table["ttl"], resource
    for resource, parameter in made["parameters"].items():
        properties = resources[resource]["Properties"]
        assert properties["Value"] == parameter["Value"], resource
        assert properties["Name"]["Fn::Sub"].endswith(parameter["Name"]), resource
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SUT_MAX_RECEIVE_COUNT"] == str(settings.max_receive_count)
    for resource, alarm in made["alarms"].items():
        declared = resources[resource]["Properties"]
        for key in (
            "MetricName",
            "Statistic",
            "ExtendedStatistic",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "ComparisonOperator",
            "TreatMissingData",
        ):
            assert declared.get(key) == alarm.get(key), (resource, key)
        assert float(declared["Threshold"]) == alarm["Threshold"], resource
        assert defaults["AlarmPeriodSeconds"]["Default"] == alarm["Period"], resource
        (dimension,) = declared["Dimensions"]
        assert [dimension["Name"]] == [d["Name"] for d in alarm["Dimensions"]], resource
        if declared["Namespace"] == {"Ref": "MetricsNamespace"}:
            assert defaults["MetricsNamespace"]["Default"] == alarm["Namespace"], resource
            assert dimension["Value"] == alarm["Dimensions"][0]["Value"], resource
        else:
            assert declared["Namespace"] == alarm["Namespace"], resource
    assert defaults["MetricsNamespace"]["Default"] == settings.metrics_namespace == NAMESPACE
    assert env["SUT_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


def test_every_variable_the_template_sets_is_one_the_system_reads() -> None:
    template = _template()
    known = {variable for variable, _ in sut_config._VARIABLES.values()}
    named = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        named |= set(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    # Powertools' own, and the AWS FIS extension's (read by its wrapper, not by our code)
    theirs = ("POWERTOOLS_", "AWS_FIS_", "AWS_LAMBDA_EXEC_WRAPPER")
    unknown = {n for n in named if n not in known and not n.startswith(theirs)}
    assert not unknown, f"the system reads no {sorted(unknown)}"


def test_the_lambda_requirements_match_pyproject() -> None:
    """`sam build --manifest system_under_test/requirements.txt` installs what pyproject pins."""
    import tomllib

    root = TEMPLATE.parents[1]
    pinned = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {spec.split(">")[0].split("[")[0]: spec for spec in pinned}
    wanted = [
        line.strip()
        for line in (TEMPLATE.parent / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert wanted, "no requirement listed"
    for requirement in wanted:
        name = requirement.split(">")[0]
        assert bounds.get(name, "").replace("[standard]", "") == requirement, requirement
