"""The Lambda handler with a stub runtime client: wiring, logs, metrics, never an exception."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from tests.support.frontend import (
    ENDPOINT_NAME,
    FAKE_AWS_ENV,
    FakeLambdaContext,
    StubClient,
    load_frontend_copy,
    patched_environ,
    rest_event,
)

BODY_MARKER = "secret-feature-value-7731"


def emf_documents(output: str) -> list[dict[str, Any]]:
    """The EMF documents among the JSON lines a test printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            if "_aws" in document:
                documents.append(document)
    return documents


def log_lines(frontend: ModuleType, caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The function's log records as the JSON lines Powertools writes to CloudWatch Logs."""
    formatter = frontend.logger.registered_formatter
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == frontend.logger.name
    ]


def test_prediction(frontend: ModuleType, stub: StubClient, context: FakeLambdaContext) -> None:
    event = rest_event(
        '{"amount": 12.5}',
        accept="application/json",
        custom_attributes="trace=1",
        request_id="0b1c2d3e-api-gateway",
    )
    response = frontend.handler(event, context)
    assert stub.calls == [
        {
            "EndpointName": ENDPOINT_NAME,
            "Body": b'{"amount": 12.5}',
            "ContentType": "application/json",
            "Accept": "application/json",
            "CustomAttributes": "trace=1",
        }
    ]
    assert response == {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "x-sagemaker-endpoint": ENDPOINT_NAME,
            "x-model-version": "3f9a1c2b",
            "x-request-id": "0b1c2d3e-api-gateway",
            "x-sagemaker-variant": "AllTraffic",
        },
        "body": '{"score": 0.87}',
        "isBase64Encoded": False,
    }


def test_request_id_falls_back_to_the_lambda_request_id(
    frontend: ModuleType, stub: StubClient
) -> None:
    event = rest_event()
    del event["requestContext"]
    response = frontend.handler(event, FakeLambdaContext(aws_request_id="lambda-req-1"))
    assert response["headers"]["x-request-id"] == "lambda-req-1"


def test_binary_round_trip(frontend: ModuleType, stub: StubClient, context: Any) -> None:
    stub.content_type, stub.body = "application/x-npy", b"\x93NUMPY\x01\x00\xff"
    image = b"\xff\xd8\xff\xdb" + bytes(range(256)) * 4
    response = frontend.handler(rest_event(image, content_type="image/jpeg"), context)
    assert stub.calls[0]["Body"] == image
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x93NUMPY\x01\x00\xff"
    assert response["headers"]["Content-Type"] == "application/x-npy"


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        "not an event",
        rest_event(method="GET"),
        rest_event(content_type="application/xml"),
        rest_event(""),
        rest_event("{oops", content_type="application/json"),
        rest_event(b"\x00" * (6 * 1024 * 1024 + 1), content_type="image/jpeg"),
    ],
    ids=["none", "empty", "str", "get", "xml", "empty-body", "bad-json", "too-large"],
)
def test_bad_requests_never_reach_the_endpoint(
    frontend: ModuleType, stub: StubClient, context: Any, event: object
) -> None:
    response = frontend.handler(event, context)
    assert 400 <= response["statusCode"] < 500
    assert response["headers"]["Content-Type"] == "application/json"
    assert set(json.loads(response["body"])) == {"message", "requestId"}
    assert stub.calls == []


def model_error(status: int, message: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "Received server error"},
            "ResponseMetadata": {"HTTPStatusCode": 424},
            "OriginalStatusCode": status,
            "OriginalMessage": message,
            "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:x",
        },
        "InvokeEndpoint",
    )


@pytest.mark.parametrize(
    "case",
    [
        (model_error(500, "CUDA out of memory"), "ModelErrors"),
        (ReadTimeoutError(endpoint_url="http://x"), "ModelTimeouts"),
    ],
)
def test_failures_emit_emf_with_exactly_model_name_and_version(
    frontend: ModuleType,
    stub: StubClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[BaseException, str],
) -> None:
    error, metric = case
    # Powertools would add a `service` dimension from this; the alarms would then never match.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "frontend")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SomethingElse")
    stub.error = error
    response = frontend.handler(rest_event(), FakeLambdaContext())
    assert response["statusCode"] == (502 if metric == "ModelErrors" else 504)
    [document] = emf_documents(capsys.readouterr().out)
    timestamp = document["_aws"].pop("Timestamp")
    assert isinstance(timestamp, int)
    assert document == {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "SafeSageMakerEndpoints",
                    "Dimensions": [["ModelName", "ModelVersion"]],
                    "Metrics": [{"Name": metric, "Unit": "Count"}],
                }
            ]
        },
        "ModelName": "fraud-detector",
        "ModelVersion": "3f9a1c2b",
        metric: [1.0],
    }


def test_model_error_response(frontend: ModuleType, stub: StubClient, context: Any) -> None:
    stub.error = model_error(400, "feature 'amount' is missing")
    response = frontend.handler(rest_event(request_id="rid-model"), context)
    assert response["statusCode"] == 502
    assert response["headers"]["x-sagemaker-endpoint"] == ENDPOINT_NAME
    assert json.loads(response["body"]) == {
        "message": "the model returned an error",
        "requestId": "rid-model",
        "modelStatus": 400,
        "modelMessage": "feature 'amount' is missing",
    }


def test_successes_and_throttles_emit_no_metric(
    frontend: ModuleType, stub: StubClient, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    frontend.handler(rest_event(), context)
    stub.error = ClientError(
        {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "InvokeEndpoint",
    )
    assert frontend.handler(rest_event(), context)["statusCode"] == 429
    assert emf_documents(capsys.readouterr().out) == []


def test_logs_are_structured_and_never_contain_the_body_by_default(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub.error = model_error(500, "boom")
    frontend.handler(rest_event(f'{{"x": "{BODY_MARKER}"}}', request_id="rid-log"), context)
    stub.error = None
    frontend.handler(rest_event(f"{{{BODY_MARKER}", request_id="rid-log-2"), context)
    frontend.handler(rest_event(f'{{"x": "{BODY_MARKER}"}}', request_id="rid-log-3"), context)
    records = log_lines(frontend, caplog)
    assert BODY_MARKER not in json.dumps(records) + caplog.text + capsys.readouterr().out
    assert [(r["level"], r["request_id"], r["status"]) for r in records] == [
        ("ERROR", "rid-log", 502),
        ("INFO", "rid-log-2", 400),
    ]
    assert all(r["service"] == "frontend" for r in records)


def test_body_is_logged_only_when_asked(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = dataclasses.replace(frontend._settings, log_request_body=True)
    monkeypatch.setattr(frontend, "_settings", settings)
    frontend.handler(rest_event(f'{{"x": "{BODY_MARKER}"}}', request_id="rid-body"), context)
    [record] = log_lines(frontend, caplog)
    assert record["body"] == f'{{"x": "{BODY_MARKER}"}}'
    assert record["request_id"] == "rid-body"


def test_unexpected_client_failure_is_a_500(
    frontend: ModuleType, stub: StubClient, context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stub.error = RuntimeError("connection pool exploded")
    response = frontend.handler(rest_event(request_id="rid-500"), context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "internal error", "requestId": "rid-500"}
    [record] = log_lines(frontend, caplog)  # logged with its stack trace, never returned
    assert record["level"] == "ERROR"
    assert record["exception_name"] == "RuntimeError"
    assert "connection pool exploded" in record["exception"]


def test_a_broken_result_is_a_500(frontend: ModuleType, stub: StubClient, context: Any) -> None:
    stub.answer = lambda kwargs: {"ContentType": "application/json"}  # no Body
    assert frontend.handler(rest_event(), context)["statusCode"] == 500


def test_even_a_broken_logic_layer_cannot_escape(
    frontend: ModuleType, stub: StubClient, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> object:
        raise MemoryError("no more")

    monkeypatch.setattr(frontend.logic, "parse_request", explode)
    response = frontend.handler(rest_event(request_id="rid-x"), context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["requestId"] == "rid-x"


def test_misconfigured_function_answers_500(
    frontend: ModuleType, stub: StubClient, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frontend, "_settings", None)
    response = frontend.handler(rest_event(), context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["message"] == "function misconfigured"
    assert stub.calls == []


def test_client_is_created_once_at_init_and_reused(
    frontend: ModuleType, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    created = frontend._client
    assert created is not None  # built while the module was imported
    assert frontend._get_client() is created

    def must_not_build(**kwargs: object) -> object:
        raise AssertionError("a client was created per request")

    monkeypatch.setattr(frontend, "build_client", must_not_build)
    stub = StubClient()
    monkeypatch.setattr(frontend, "_client", stub)
    for _ in range(3):
        assert frontend.handler(rest_event(), context)["statusCode"] == 200
    assert len(stub.calls) == 3


def test_client_creation_failure_is_a_500_and_retried(
    frontend: ModuleType, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    attempts: list[None] = []

    def no_region(**kwargs: object) -> object:
        attempts.append(None)
        raise RuntimeError("You must specify a region.")

    monkeypatch.setattr(frontend, "_client", None)
    monkeypatch.setattr(frontend, "build_client", no_region)
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert len(attempts) == 2


def test_real_botocore_client_with_stubber(
    frontend: ModuleType,
    runtime_client: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    context: Any,
) -> None:
    """The real client validates the parameters the handler sends and parses the errors."""
    with patched_environ(FAKE_AWS_ENV):
        client = runtime_client.build_client()
    monkeypatch.setattr(frontend, "_client", client)
    with Stubber(client) as stubber:
        expected = {
            "EndpointName": ENDPOINT_NAME,
            "Body": b"1,2,3",
            "ContentType": "text/csv",
            "Accept": "text/csv",
        }
        stubber.add_response(
            "invoke_endpoint",
            {"Body": io.BytesIO(b"0.5"), "ContentType": "text/csv"},
            expected,
        )
        stubber.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received client error (422)",
            http_status_code=424,
            modeled_fields={"OriginalStatusCode": 422, "OriginalMessage": "bad row"},
            expected_params=expected,
        )
        ok = frontend.handler(
            rest_event("1,2,3", content_type="text/csv", accept="text/csv"), context
        )
        failed = frontend.handler(
            rest_event("1,2,3", content_type="text/csv", accept="text/csv"), context
        )
        stubber.assert_no_pending_responses()
    assert (ok["statusCode"], ok["body"]) == (200, "0.5")
    assert failed["statusCode"] == 502
    assert json.loads(failed["body"])["modelStatus"] == 422


@pytest.mark.parametrize(
    ("env", "status"),
    [
        ({"ENDPOINT_NAME": None}, 500),  # misconfigured: every request a JSON 500, no crash
        ({"MODEL_VERSION": ""}, 500),
        ({"POWERTOOLS_LOG_LEVEL": "VERBOSE"}, 200),  # Powertools rejects it: fall back to INFO
        ({"AWS_DEFAULT_REGION": None, "AWS_REGION": None}, 500),  # no client: JSON 500
    ],
    ids=["no-endpoint", "empty-version", "bad-log-level", "no-region"],
)
def test_init_never_fails(env: dict[str, str | None], status: int) -> None:
    """A bad environment must not break the import (the Lambda init): API Gateway would turn
    that into bare 502s. The function answers instead, and says why in its log."""
    with patched_environ({"AWS_CONFIG_FILE": "/nonexistent", **env}):
        copy = load_frontend_copy("frontend_handler_init_check", env)
        if status == 200:
            setattr(copy, "_client", StubClient())  # noqa: B010 - a module attribute
        response = copy.handler(rest_event(), FakeLambdaContext())
    assert response["statusCode"] == status
    if status != 200:
        assert set(json.loads(response["body"])) == {"message", "requestId"}


# --- FrontendFailures: every 500 is counted, because Lambda's Errors never see one ----------


def assert_one_frontend_failure(output: str) -> None:
    """``output`` holds exactly one EMF document: 1 ``FrontendFailures`` of this model version,
    with exactly the dimensions the rollback alarm selects on."""
    [document] = emf_documents(output)
    assert isinstance(document["_aws"].pop("Timestamp"), int)
    assert document == {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "SafeSageMakerEndpoints",
                    "Dimensions": [["ModelName", "ModelVersion"]],
                    "Metrics": [{"Name": "FrontendFailures", "Unit": "Count"}],
                }
            ]
        },
        "ModelName": "fraud-detector",
        "ModelVersion": "3f9a1c2b",
        "FrontendFailures": [1.0],
    }


@pytest.mark.parametrize(
    "error",
    [("AccessDeniedException", 400), ("AccessDenied", 403), ("ExpiredTokenException", 403)],
    ids=lambda error: "-".join(map(str, error)),
)
def test_access_denied_is_a_500_counted_as_a_frontend_failure(
    frontend: ModuleType,
    runtime_client: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: tuple[str, int],
) -> None:
    """Our misconfiguration (the role may not invoke green): the real client parses the error,
    the caller gets a plain 500, and the rollback alarm gets one count."""
    # Powertools would add a `service` dimension from this; the alarm would then never match.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "frontend")
    with patched_environ(FAKE_AWS_ENV):
        client = runtime_client.build_client()
    monkeypatch.setattr(frontend, "_client", client)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint",
            service_error_code=error[0],
            service_message="User: arn:aws:sts::123456789012:assumed-role/x is not authorized",
            http_status_code=error[1],
        )
        response = frontend.handler(rest_event(request_id="rid-denied"), FakeLambdaContext())
        stubber.assert_no_pending_responses()
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "internal error", "requestId": "rid-denied"}
    assert "123456789012" not in response["body"]
    assert_one_frontend_failure(capsys.readouterr().out)


def test_unexpected_exception_is_a_500_counted_as_a_frontend_failure(
    frontend: ModuleType, stub: StubClient, context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.error = RuntimeError("connection pool exploded")
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert_one_frontend_failure(capsys.readouterr().out)


def test_every_other_500_is_counted_once(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broken result, no runtime client, an exception of the handler's own: one count each."""
    stub.answer = lambda kwargs: {"ContentType": "application/json"}  # no Body
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert_one_frontend_failure(capsys.readouterr().out)

    def explode(*args: object) -> object:
        raise MemoryError("no more")

    with monkeypatch.context() as patch:
        patch.setattr(frontend.logic, "parse_request", explode)
        assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert_one_frontend_failure(capsys.readouterr().out)

    def no_region(**kwargs: object) -> object:
        raise RuntimeError("You must specify a region.")

    monkeypatch.setattr(frontend, "_client", None)
    monkeypatch.setattr(frontend, "build_client", no_region)
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert_one_frontend_failure(capsys.readouterr().out)


@pytest.mark.parametrize(
    "error",
    [
        model_error(500, "CUDA out of memory"),
        ClientError(
            {"Error": {"Code": "InternalFailure"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
            "InvokeEndpoint",
        ),
        ClientError(
            {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}},
            "InvokeEndpoint",
        ),
    ],
    ids=["model-error-502", "internal-502", "unavailable-503"],
)
def test_other_5xx_are_not_frontend_failures(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
) -> None:
    """The model's or SageMaker's failures have their own metrics and alarms."""
    stub.error = error
    assert frontend.handler(rest_event(), context)["statusCode"] in (502, 503)
    names = [
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
        for d in emf_documents(capsys.readouterr().out)
    ]
    assert "FrontendFailures" not in names


def test_a_failing_count_never_escapes(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(name: str, settings: object) -> None:
        raise ValueError("metrics broke")

    monkeypatch.setattr(frontend.telemetry, "emit_count", broken)
    stub.error = RuntimeError("connection pool exploded")
    response = frontend.handler(rest_event(request_id="rid-count"), context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["requestId"] == "rid-count"
    assert [r["message"] for r in log_lines(frontend, caplog)] == [
        "invoke_endpoint failed",
        "could not emit FrontendFailures",
    ]


def test_a_misconfigured_function_has_nothing_to_count_under(
    frontend: ModuleType,
    stub: StubClient,
    context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without settings there is no ModelName/ModelVersion: a 500, logged, but no metric."""
    monkeypatch.setattr(frontend, "_settings", None)
    assert frontend.handler(rest_event(), context)["statusCode"] == 500
    assert emf_documents(capsys.readouterr().out) == []
