"""invoke: through the API (signed, or with an API key) and straight to an endpoint, against the
local fakes; and the one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import DEV_BLUE, Run, one_line_error, stub_missing_stack, stub_outputs
from tests.cli.fake_api import FakeApi
from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime

BODY = '{"instances": [[0.1, 2]]}'


@pytest.fixture
def api(runtime: FakeSageMakerRuntime) -> Iterator[FakeApi]:
    with FakeApi(runtime.url, choose=lambda: DEV_BLUE) as fake:
        yield fake


def call_api(run: Run, api: FakeApi, *options: str) -> Any:
    """``invoke fraud-detector --env dev`` at the fake API's URL."""
    return run(
        "invoke", "fraud-detector", "--env", "dev", "--url", api.url("fraud-detector"), *options
    )


def test_signed_call_through_the_stack_output(run: Run, api: FakeApi, cloudformation: Any) -> None:
    stub_outputs(cloudformation, "DevStack", {"InvokeUrlfrauddetector": api.url("fraud-detector")})
    result = run("invoke", "fraud-detector", "--env", "dev", "--data", BODY, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["status"] == 200
    assert answer["endpoint"] == DEV_BLUE
    assert answer["model_version"] == "5912c004"
    assert json.loads(answer["body"]) == json.loads(BODY)  # the fake model echoes
    authorization = api.headers[-1]["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/execute-api/aws4_request" in authorization
    assert "x-amz-security-token" in api.headers[-1]


def test_api_key_instead_of_signing_and_readable_output(
    run: Run, api: FakeApi, aws_env: None
) -> None:
    result = call_api(run, api, "--api-key", "k-123", "--data", BODY)
    assert result.exit_code == 0, result.output
    assert api.headers[-1]["x-api-key"] == "k-123"
    assert "authorization" not in api.headers[-1]
    first, body = result.stdout.splitlines()[:2]
    assert first.startswith("status 200   latency ")
    assert f"endpoint {DEV_BLUE}   model version 5912c004" in first
    assert json.loads(body) == json.loads(BODY)


def test_body_from_a_file(run: Run, api: FakeApi, aws_env: None, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "row.csv"
    path.write_text("42,0,1\n")
    result = call_api(run, api, "--content-type", "text/csv", "--data", f"@{path}", "--json")
    assert json.loads(result.stdout)["body"] == "42,0,1\n"


def test_endpoint_directly(run: Run, runtime_env: str, runtime: FakeSageMakerRuntime) -> None:
    before = runtime.count(DEV_BLUE)
    result = run(
        "invoke", "fraud-detector", "--env", "dev", "--endpoint", DEV_BLUE, "--data", BODY, "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["endpoint"] == DEV_BLUE
    assert runtime.count(DEV_BLUE) == before + 1


def test_an_error_answer_exits_1(run: Run, runtime_env: str, runtime: FakeSageMakerRuntime) -> None:
    from tests.support.fake_sagemaker_runtime import Fault

    with runtime.fault("dev-fraud-detector-broken", Fault(kind="model-error", status=500)):
        result = run(
            "invoke",
            "fraud-detector",
            "--env",
            "dev",
            "--endpoint",
            "dev-fraud-detector-broken",
            "--json",
        )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == 424


def test_missing_stack(run: Run, cloudformation: Any) -> None:
    stub_missing_stack(cloudformation, "describe_stacks", "DevStack")
    result = run("invoke", "fraud-detector", "--env", "dev")
    assert result.exit_code == 3
    assert one_line_error(result) == (
        "Error: stack DevStack not found in us-east-1: deploy it (npx cdk deploy DevStack) or "
        "check --region/--profile"
    )


def test_missing_credentials(run: Run, api: FakeApi, no_credentials: None) -> None:
    result = run("invoke", "fraud-detector", "--env", "dev", "--url", api.url("fraud-detector"))
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: no AWS credentials found")


def test_unknown_model_and_environment(run: Run) -> None:
    result = run("invoke", "no-such-model", "--env", "dev")
    assert one_line_error(result) == (
        "Error: unknown model 'no-such-model' in environment 'dev' "
        "(known: fraud-detector, churn-scorer)"
    )
    assert result.exit_code == 1
    result = run("invoke", "fraud-detector", "--env", "staging")
    assert one_line_error(result).startswith("Error: unknown environment 'staging'")


def test_unreachable_endpoint(run: Run, aws_env: None) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    result = run("invoke", "fraud-detector", "--env", "dev", "--url", "http://127.0.0.1:9/v1/x")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: cannot reach the endpoint")


def test_missing_sagemaker_endpoint(
    run: Run, runtime_env: str, runtime: FakeSageMakerRuntime
) -> None:
    from tests.support.fake_sagemaker_runtime import Fault

    with runtime.fault("dev-fraud-detector-gone", Fault(kind="not-found")):
        result = run(
            "invoke", "fraud-detector", "--env", "dev", "--endpoint", "dev-fraud-detector-gone"
        )
    assert result.exit_code == 3
    assert one_line_error(result) == (
        "Error: InvokeEndpoint failed: ValidationError: Endpoint dev-fraud-detector-gone of "
        "account 123456789012 not found."
    )
