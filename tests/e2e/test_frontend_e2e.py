"""End to end: API Gateway event -> handler -> real botocore client -> local SageMaker runtime."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from types import ModuleType
from typing import Any

import pytest

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime, Fault
from tests.support.frontend import (
    FAKE_AWS_ENV,
    FRONTEND_DIR,
    FUNCTION_ENV,
    MODEL_VERSION,
    FakeLambdaContext,
    frontend_package,
    patched_environ,
    rest_event,
)

from .conftest import Live

pytestmark = pytest.mark.slow


def emf_documents(output: str) -> list[dict[str, Any]]:
    return [
        document
        for line in output.splitlines()
        if line.startswith("{") and "_aws" in (document := json.loads(line))
    ]


def test_json_prediction(
    live: Live,
) -> None:
    event = rest_event('{"features": [1.5, 2.0]}', request_id="apigw-req-1")
    response = live.invoke(event)
    assert response == {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "x-sagemaker-endpoint": live.endpoint_name,
            "x-model-version": MODEL_VERSION,
            "x-request-id": "apigw-req-1",
            "x-sagemaker-variant": "AllTraffic",
        },
        "body": '{"features": [1.5, 2.0]}',
        "isBase64Encoded": False,
    }
    [received] = live.runtime.requests(live.endpoint_name)
    assert received.body == b'{"features": [1.5, 2.0]}'
    assert received.content_type == "application/json"
    assert received.accept == "application/json"
    assert received.custom_attributes is None
    # A real SigV4-signed request for the `sagemaker` signing name.
    authorization = received.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/sagemaker/aws4_request" in authorization


def test_csv_prediction(
    live: Live,
) -> None:
    csv = "5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n"
    response = live.invoke(
        rest_event(csv, content_type="text/csv; charset=utf-8", accept="text/csv")
    )
    assert (response["statusCode"], response["body"], response["isBase64Encoded"]) == (
        200,
        csv,
        False,
    )
    [received] = live.runtime.requests(live.endpoint_name)
    assert received.content_type == "text/csv; charset=utf-8"  # forwarded as sent
    assert received.body == csv.encode()


def test_binary_round_trip(
    live: Live,
) -> None:
    image = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 64
    response = live.invoke(rest_event(image, content_type="image/jpeg", accept="application/x-npy"))
    [received] = live.runtime.requests(live.endpoint_name)
    assert received.body == image  # raw bytes at the runtime, not base64
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "application/x-npy"
    assert base64.b64decode(response["body"]) == image


def test_accept_and_custom_attributes_pass_through(
    live: Live,
) -> None:
    event = rest_event(
        '{"x": 1}',
        accept="application/jsonlines",
        custom_attributes="c000b4f9-df62-4c85-a0bf-7c525f9104a4,trace=Root-1",
    )
    event["headers"] = {name.lower(): value for name, value in event["headers"].items()}
    response = live.invoke(event)
    [received] = live.runtime.requests(live.endpoint_name)
    assert received.accept == "application/jsonlines"
    assert received.custom_attributes == "c000b4f9-df62-4c85-a0bf-7c525f9104a4,trace=Root-1"
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/jsonlines"
    assert response["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == (
        "c000b4f9-df62-4c85-a0bf-7c525f9104a4,trace=Root-1"
    )


def test_a_model_with_its_own_answer(
    live: Live,
) -> None:
    live.runtime.set_responder(live.endpoint_name, lambda request: ("text/csv", b"0.93\n"))
    response = live.invoke(rest_event('{"x": 1}'))
    assert (response["statusCode"], response["body"]) == (200, "0.93\n")
    assert response["headers"]["Content-Type"] == "text/csv"


def test_bad_requests_never_reach_the_runtime(
    live: Live,
) -> None:
    for event in (
        rest_event(method="GET"),
        rest_event(content_type="application/xml"),
        rest_event("{nope"),
        rest_event(b"\x00" * (6 * 1024 * 1024 + 1), content_type="image/jpeg"),
    ):
        assert 400 <= live.invoke(event)["statusCode"] < 500
    assert live.runtime.count(live.endpoint_name) == 0


# (fault, status, Retry-After, requests the runtime sees: 2 = retried once, message)
FAULTS: list[tuple[Fault, int, str | None, int, str]] = [
    (Fault("model-error", 400, "feature 'amount' missing"), 502, None, 1, "returned an error"),
    (Fault("throttle"), 429, "1", 2, "too many requests"),
    (Fault("throttle", status=400), 429, "1", 2, "too many requests"),
    (Fault("internal"), 502, None, 2, "endpoint failed"),
    (Fault("dependency"), 502, None, 1, "endpoint failed"),
    (Fault("unavailable"), 503, "1", 2, "unavailable"),
    (Fault("not-ready"), 429, "5", 1, "not ready"),
    (Fault("validation"), 400, None, 1, "rejected the request"),
    (Fault("not-found"), 503, None, 1, "unavailable"),
    (Fault("access-denied"), 500, None, 1, "internal error"),
    (Fault("slow", delay=3.0), 504, None, 2, "timed out"),
    (Fault("drop"), 502, None, 2, "connection to the model endpoint failed"),
]


@pytest.mark.parametrize(
    "case", FAULTS, ids=[f"{fault.kind}-{fault.status or ''}" for fault, *_ in FAULTS]
)
def test_injected_faults(
    live: Live,
    short_timeout_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[Fault, int, str | None, int, str],
) -> None:
    fault, status, retry_after, attempts, message = case
    if fault.kind == "slow":  # a 1 s read timeout instead of 8 s
        monkeypatch.setattr(live.frontend, "_client", short_timeout_client)
    live.runtime.set_fault(live.endpoint_name, fault)
    started = time.perf_counter()
    response = live.invoke(rest_event(request_id="apigw-fault"))
    elapsed = time.perf_counter() - started
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"].get("Retry-After") == retry_after
    assert response["headers"]["x-request-id"] == "apigw-fault"
    payload = json.loads(response["body"])
    assert message in payload["message"]
    assert payload["requestId"] == "apigw-fault"
    assert "123456789012" not in response["body"]  # nothing of SageMaker's internals leaks
    assert live.runtime.count(live.endpoint_name) == attempts
    if fault.kind == "slow":  # two attempts of a 1 s read timeout, then our own 504
        assert 2.0 <= elapsed < 5.0  # a server delay of 2 x 3 s was never waited out
    metrics = emf_documents(capsys.readouterr().out)
    caller_fault = fault.kind == "model-error" and (fault.status or 500) < 500
    expected_metric = {
        # The container's 4xx is the caller's bad input: counted, but never by ModelErrors.
        "model-error": "ModelClientErrors" if caller_fault else "ModelErrors",
        "slow": "ModelTimeouts",
        "access-denied": "FrontendFailures",  # our misconfiguration: the rollback alarm's cue
    }.get(fault.kind)
    assert [next(iter(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]))["Name"] for d in metrics] == (
        [expected_metric] if expected_metric else []
    )


def test_model_error_details_and_metric(
    live: Live,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "frontend")
    live.runtime.set_fault(
        live.endpoint_name, Fault("model-error", 500, "Traceback: " + "x" * 3000)
    )
    response = live.invoke(rest_event(request_id="apigw-model"))
    assert response["statusCode"] == 502
    assert response["headers"]["x-sagemaker-endpoint"] == live.endpoint_name
    payload = json.loads(response["body"])
    assert payload["message"] == "the model returned an error"
    assert payload["modelStatus"] == 500
    assert payload["modelMessage"].startswith("Traceback: xxx")
    assert len(payload["modelMessage"]) <= 512
    [document] = emf_documents(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "SafeSageMakerEndpoints",
            "Dimensions": [["ModelName", "ModelVersion"]],
            "Metrics": [{"Name": "ModelErrors", "Unit": "Count"}],
        }
    ]
    assert {k: v for k, v in document.items() if k != "_aws"} == {
        "ModelName": "fraud-detector",
        "ModelVersion": MODEL_VERSION,
        "ModelErrors": [1.0],
    }


def test_fault_requested_per_request(
    live: Live,
) -> None:
    """The runtime also takes a fault from the custom attributes the front end passes on."""
    faulty = live.invoke(rest_event(custom_attributes="fake-fault=not-ready"))
    healthy = live.invoke(rest_event(custom_attributes="trace=1"))
    assert (faulty["statusCode"], healthy["statusCode"]) == (429, 200)


def test_endpoint_unreachable(
    live_frontend: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    context: FakeLambdaContext,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{port}"}
    with patched_environ(env):
        client = frontend_package().runtime_client.build_client()
    monkeypatch.setattr(live_frontend, "_client", client)
    response = live_frontend.handler(rest_event(), context)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"


def test_cold_start_in_a_fresh_process_like_lambda(
    fake_runtime: FakeSageMakerRuntime, endpoint_name: str
) -> None:
    """``handler.handler`` imported the way the Lambda runtime does, configured by env only.

    The client made at import time must find the runtime through
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``: nothing passes an endpoint URL explicitly.
    """
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(FRONTEND_DIR)!r})
        import handler
        sys.path.insert(0, {str(FRONTEND_DIR.parents[1])!r})
        from tests.support.frontend import FakeLambdaContext, rest_event
        event = rest_event('{{"features": [1]}}', request_id="cold-1")
        print("RESULT " + json.dumps(handler.handler(event, FakeLambdaContext())))
        """
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **FUNCTION_ENV,
        **FAKE_AWS_ENV,
        "ENDPOINT_NAME": endpoint_name,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": fake_runtime.url,
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    [line] = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    response = json.loads(line.removeprefix("RESULT "))
    assert response["statusCode"] == 200
    assert response["headers"]["x-sagemaker-endpoint"] == endpoint_name
    assert response["headers"]["x-request-id"] == "cold-1"
    assert fake_runtime.count(endpoint_name) == 1


def _outcome(client: Any, endpoint_name: str) -> tuple[Any, ...]:
    """What a caller of ``client.invoke_endpoint`` sees, minus the per-request id."""
    try:
        answer = client.invoke_endpoint(
            EndpointName=endpoint_name,
            Body=b'{"instances": [[1, 2]]}',
            ContentType="application/json",
            CustomAttributes="trace=1",
        )
    except client.exceptions.ClientError as error:
        response = error.response
        response["ResponseMetadata"].pop("RequestId")
        response["ResponseMetadata"].pop("HTTPHeaders")
        response["ResponseMetadata"].pop("RetryAttempts")
        return ("error", response)
    return ("answer", answer["Body"].read(), answer["ContentType"], answer["CustomAttributes"])


@pytest.mark.parametrize(
    "fault",
    [None, Fault("model-error", 400, "bad features"), Fault("model-error"), Fault("validation")],
    ids=["ok", "model-4xx", "model-5xx", "validation"],
)
def test_the_in_process_runtime_answers_as_over_http(
    fake_runtime: FakeSageMakerRuntime,
    runtime_client: Any,
    endpoint_name: str,
    fault: Fault | None,
) -> None:
    """The rollout simulator's transport (``serve_in_process``): the same parsed answers and
    errors as real HTTP, and counted alike."""
    with patched_environ(
        {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://runtime.invalid"}
    ):
        in_process = frontend_package().runtime_client.build_client()
    fake_runtime.serve_in_process(in_process)
    fake_runtime.set_fault(endpoint_name, fault)
    try:
        over_http = _outcome(runtime_client, endpoint_name)
        sent = fake_runtime.count(endpoint_name)
        assert _outcome(in_process, endpoint_name) == over_http
        assert fake_runtime.count(endpoint_name) == 2 * sent
    finally:
        fake_runtime.set_fault(endpoint_name, None)
