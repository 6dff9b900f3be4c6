"""The Lambda entry points and the SSM-held API keys, against the running stack's AWS side."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from system_under_test.api import lambda_handler as api_lambda
from system_under_test.config import ConfigError, SutConfig, with_keys_from_ssm
from system_under_test.worker import lambda_handler as worker_lambda
from tests.integration.conftest import System, order

pytestmark = pytest.mark.integration


@pytest.fixture
def lambda_env(healthy: System, monkeypatch: pytest.MonkeyPatch) -> System:
    """The environment a Lambda deployment would give the handlers."""
    resources = healthy.resources
    for name, value in {
        **healthy.status["env"],
        "SUT_QUEUE_URL": resources["queue_url"],
        "SUT_DLQ_URL": resources["dlq_url"],
        # the shared stack is the template's: its names are CloudFormation's, not defaults
        "SUT_IDEMPOTENCY_TABLE": resources["idempotency_table"],
        "SUT_LEDGER_TABLE": resources["ledger_table"],
        "SUT_EFFECTS_TABLE": resources["effects_table"],
        "SUT_FAILURE_MODE_PARAMETER": resources["failure_mode_parameter"],
        "SUT_FAULT_PARAMETER": resources["fault_parameter"],
        "SUT_API_KEYS": "lambda-client-key",
        "SUT_DOWNSTREAM_URL": healthy.downstream,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(api_lambda, "_built", None)
    monkeypatch.setattr(worker_lambda, "_built", None)
    return healthy


class Context:
    function_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _http_api_event(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /events",
        "rawPath": "/events",
        "rawQueryString": "",
        "isBase64Encoded": False,
        "body": json.dumps(body),
        "headers": {"content-type": "application/json", "x-api-key": key},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/events",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "test",
            },
            "requestId": "r",
            "stage": "$default",
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "localhost",
            "timeEpoch": 0,
        },
    }


def test_api_lambda_handler_accepts_an_http_api_event(lambda_env: System) -> None:
    body = order("lambda-api")
    result = api_lambda.handler(_http_api_event(body, "lambda-client-key"), Context())
    assert result["statusCode"] == 202, result
    assert json.loads(result["body"])["status"] == "accepted"
    lambda_env.wait_for(
        lambda: lambda_env.applied([body["orderId"]])[body["orderId"]] == 1,
        15,
        "applied by the running workers",
    )
    refused = api_lambda.handler(_http_api_event(body, "wrong"), Context())
    assert refused["statusCode"] == 401


def _sqs_record(body: str) -> dict[str, Any]:
    return {
        "messageId": uuid.uuid4().hex,
        "receiptHandle": "r",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(time.time() * 1000)),
        },
        "messageAttributes": {
            "correlationId": {"stringValue": "corr-lambda", "dataType": "String"}
        },
        "eventSource": "aws:sqs",
    }


def _emf(out: str) -> dict[str, float]:
    """The metrics in Embedded Metric Format lines (what CloudWatch Logs extracts)."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found[metric["Name"]] = found.get(metric["Name"], 0.0) + sum(record[metric["Name"]])
    return found


def test_worker_lambda_handler_reports_partial_batch_failures(
    lambda_env: System, capsys: pytest.CaptureFixture[str]
) -> None:
    good = order("lambda-worker")
    envelope = {
        "order": good,
        "idempotencyKey": "lambda:" + good["orderId"],
        "correlationId": "corr-lambda",
        "acceptedAt": time.time(),
    }
    poison = {
        **envelope,
        "order": {**good, "orderId": good["orderId"] + "-p", "currency": "XXX"},
        "idempotencyKey": "lambda:poison:" + good["orderId"],
    }
    event = {"Records": [_sqs_record(json.dumps(envelope)), _sqs_record(json.dumps(poison))]}
    assert worker_lambda.handler(event, Context()) == {"batchItemFailures": []}
    assert lambda_env.applied([good["orderId"]]) == {good["orderId"]: 1}
    # Powertools Metrics: the invocation's metrics as EMF on stdout, for CloudWatch Logs
    emitted = _emf(capsys.readouterr().out)
    assert emitted["Messages"] == 2 and emitted["WorkerErrors"] == 1, emitted
    lambda_env.wait_for(
        lambda: poison["order"]["orderId"] in lambda_env.dlq_order_ids(),
        5,
        "poison copied to the DLQ",
    )
    lambda_env.set_fault("random_fail_p30", errorRate=1.0, statusCode=503)
    time.sleep(1.2)
    retry = {
        **envelope,
        "order": {**good, "orderId": good["orderId"] + "-r"},
        "idempotencyKey": "lambda:retry:" + good["orderId"],
    }
    record = _sqs_record(json.dumps(retry))
    outcome = worker_lambda.handler({"Records": [record]}, Context())
    assert outcome == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_api_keys_from_an_ssm_secure_string(healthy: System) -> None:
    ssm = healthy.aws("ssm")
    name = f"/gameday-test/api-keys-{uuid.uuid4().hex[:6]}"
    ssm.put_parameter(
        Name=name, Type="SecureString", Value=json.dumps({"client": ["c1", "c2"], "admin": ["a1"]})
    )
    config = with_keys_from_ssm(
        SutConfig(api_keys=frozenset({"env"}), api_keys_parameter=name), ssm
    )
    assert config.api_keys == {"env", "c1", "c2"}
    assert config.admin_api_keys == {"a1"}
    ssm.put_parameter(Name=name, Type="SecureString", Value="not json", Overwrite=True)
    with pytest.raises(ConfigError, match="SUT_API_KEYS_PARAMETER"):
        with_keys_from_ssm(SutConfig(api_keys_parameter=name), ssm)


def test_admin_redrive_validates_its_limits(healthy: System) -> None:
    response = healthy.http.post(
        healthy.api + "/admin/dlq/redrive",
        headers={"X-Api-Key": healthy.admin_key},
        json={"maxMessages": 5000},
    )
    assert response.status_code == 422
    assert "maxMessages" in response.json()["error"]["message"]
    ok = healthy.http.post(
        healthy.api + "/admin/dlq/redrive",
        headers={"X-Api-Key": healthy.admin_key},
        json={"maxMessages": 10, "errorType": "NO_SUCH_TYPE"},
    )
    assert ok.status_code == 200
    assert ok.json()["redriven"] == 0


def test_preview_finds_matches_behind_many_other_dead_letters(healthy: System) -> None:
    from system_under_test import redrive

    sqs = healthy.aws("sqs")
    dlq = healthy.resources["dlq_url"]
    marker = uuid.uuid4().hex[:8]

    def dead(error_type: str) -> dict[str, Any]:
        return {
            "errorType": {"DataType": "String", "StringValue": error_type},
            "failedAt": {"DataType": "String", "StringValue": str(int(time.time() * 1000))},
        }

    for i in range(0, 40, 10):
        sqs.send_message_batch(
            QueueUrl=dlq,
            Entries=[
                {
                    "Id": str(j),
                    "MessageBody": f"noise-{marker}-{i + j}",
                    "MessageAttributes": dead("VALIDATION"),
                }
                for j in range(10)
            ],
        )
    for j in range(2):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=f"wanted-{marker}-{j}",
            MessageAttributes=dead(f"TIMEOUT_{marker}"),
        )
    result = redrive.preview(sqs, dlq, redrive.DlqFilter(f"TIMEOUT_{marker}"), max_messages=5)
    assert sorted(m["bodyPreview"] for m in result["messages"]) == [
        f"wanted-{marker}-0",
        f"wanted-{marker}-1",
    ]
    assert result["byErrorType"]["VALIDATION"] >= 40
    again = redrive.preview(sqs, dlq, redrive.DlqFilter(f"TIMEOUT_{marker}"), max_messages=5)
    assert again["matching"] == 2  # released: nothing was consumed
