"""Fakes and response builders shared by the deployment-hook tests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import moto  # noqa: F401  (hooks moto into botocore before any client exists)
from botocore.client import BaseClient
from botocore.response import StreamingBody
from botocore.stub import Stubber

REGION = "eu-west-1"
ACCOUNT = "123456789012"
DEPLOYMENT_ID = "d-ABCDEF123"
EXECUTION_ID = "hook-execution-1"
FUNCTION = "ModelFrontend-fn"
MODEL = "churn"
VARIANT = "primary"
BLUE = "churn-model-1a2b3c4d"
GREEN = "churn-model-5e6f7a8b"
CREATE_TIME = datetime(2026, 3, 2, 10, 15, 42, tzinfo=UTC)


class FakeClock:
    """Monotonic and wall time that only move when the code under test sleeps."""

    def __init__(self, start: datetime = CREATE_TIME + timedelta(minutes=1)) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: list[Callable[[FakeClock], None]] = []

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the hooks must never sleep for nothing"
        self.sleeps.append(seconds)
        self.elapsed += seconds
        for callback in self.on_sleep:
            callback(self)


@dataclass
class FakeContext:
    """The parts of a Lambda context the hooks and Powertools read."""

    clock: FakeClock
    timeout_seconds: float = 900.0
    function_name: str = "pre-or-post-hook"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - self.clock.elapsed) * 1000)


def hook_event() -> dict[str, str]:
    return {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": EXECUTION_ID}


# --- clients -----------------------------------------------------------------------------------


@cache
def make_client(service: str) -> BaseClient:
    """One client per service for the whole run (creating one costs ~50 ms).

    Tests put Stubbers on them or run them inside ``mock_aws``, which intercepts clients made
    before it started too: moto hooks into botocore when imported, above.
    """
    client: BaseClient = _session().client(service)
    return client


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)


@contextmanager
def recorded_calls(client: BaseClient) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(operation, parameters) of every call on ``client``, whether moto or a Stubber answers."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def remember(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, dict(params)))

    client.meta.events.register("before-parameter-build.*.*", remember)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-parameter-build.*.*", remember)


@contextmanager
def stubbed(client: BaseClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


# --- CodeDeploy ---------------------------------------------------------------------------------


def appspec(
    *, current: str | None = "3", target: str = "4", function: str = FUNCTION
) -> dict[str, Any]:
    properties: dict[str, Any] = {"Name": function, "Alias": "live", "TargetVersion": target}
    if current is not None:
        properties["CurrentVersion"] = current
    return {
        "version": 0.0,
        "Resources": [
            {"FrontendAlias": {"Type": "AWS::Lambda::Function", "Properties": properties}}
        ],
        "Hooks": [{"BeforeAllowTraffic": "pre-hook"}, {"AfterAllowTraffic": "post-hook"}],
    }


def deployment_response(
    content: str, *, revision_type: str = "AppSpecContent", create_time: datetime = CREATE_TIME
) -> dict[str, Any]:
    member = {"AppSpecContent": "appSpecContent", "String": "string"}.get(revision_type)
    revision: dict[str, Any] = {"revisionType": revision_type}
    if member is not None:
        revision[member] = {"content": content, "sha256": "0" * 64}
    else:
        revision["s3Location"] = {"bucket": "b", "key": "k", "bundleType": "YAML"}
    return {
        "deploymentInfo": {
            "deploymentId": DEPLOYMENT_ID,
            "applicationName": "app",
            "deploymentGroupName": "group",
            "status": "InProgress",
            "computePlatform": "Lambda",
            "createTime": create_time,
            "revision": revision,
        }
    }


def expect_deployment(stubber: Stubber, content: str | None = None, **kwargs: Any) -> None:
    stubber.add_response(
        "get_deployment",
        deployment_response(content or json.dumps(appspec()), **kwargs),
        {"deploymentId": DEPLOYMENT_ID},
    )


def expect_report(stubber: Stubber, status: str) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": EXECUTION_ID},
        {
            "deploymentId": DEPLOYMENT_ID,
            "lifecycleEventHookExecutionId": EXECUTION_ID,
            "status": status,
        },
    )


# --- Lambda ------------------------------------------------------------------------------------


def expect_version_endpoint(
    stubber: Stubber,
    version: str,
    endpoint: str | None,
    *,
    model: str | None = MODEL,
    function: str = FUNCTION,
) -> None:
    """``get_function_configuration`` of one version, with the front end's environment."""
    variables = {"MODEL_VERSION": version, "LOG_REQUEST_BODY": "false"}
    if endpoint is not None:
        variables["ENDPOINT_NAME"] = endpoint
    if model is not None:
        variables["MODEL_NAME"] = model
    stubber.add_response(
        "get_function_configuration",
        {
            "FunctionName": function,
            "Version": version,
            "Environment": {"Variables": variables},
        },
        {"FunctionName": function, "Qualifier": version},
    )


def expect_blue_green(stubber: Stubber, *, blue: str | None = BLUE, green: str = GREEN) -> None:
    """The target version (4) calls ``green``; the current one (3), if any, ``blue``."""
    expect_version_endpoint(stubber, "4", green)
    if blue is not None:
        expect_version_endpoint(stubber, "3", blue)


def expect_reverse_shift(
    codedeploy: Stubber, lambda_: Stubber, *, back_to: str, leaving: str
) -> None:
    """A deployment moving the alias back from version 4 (calling ``leaving``) to version 3
    (calling ``back_to``): CloudFormation rolling a stack update back."""
    codedeploy.add_response(
        "get_deployment",
        deployment_response(json.dumps(appspec(current="4", target="3"))),
        {"deploymentId": DEPLOYMENT_ID},
    )
    expect_version_endpoint(lambda_, "3", back_to)
    expect_version_endpoint(lambda_, "4", leaving)


def proxy_response(
    *,
    status: int = 200,
    body: Any = None,
    endpoint: str | None = GREEN,
    content_type: str = "application/json",
) -> dict[str, Any]:
    headers = {"Content-Type": content_type}
    if endpoint is not None:
        headers["X-SageMaker-Endpoint"] = endpoint
    text = json.dumps({"prediction": 0.42, "model": "churn"} if body is None else body)
    return {"statusCode": status, "headers": headers, "body": text, "isBase64Encoded": False}


def invoke_response(
    payload: Any, *, function_error: str | None = None, executed_version: str = "4"
) -> dict[str, Any]:
    raw = json.dumps(payload).encode()
    response: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": executed_version,
        "Payload": StreamingBody(io.BytesIO(raw), len(raw)),
    }
    if function_error is not None:
        response["FunctionError"] = function_error
    return response


# --- SageMaker ----------------------------------------------------------------------------------


def endpoint_description(
    name: str,
    *,
    status: str = "InService",
    instances: int | None = 1,
    variant: str = VARIANT,
    failure_reason: str | None = None,
) -> dict[str, Any]:
    summary: dict[str, Any] = {"VariantName": variant, "CurrentWeight": 1.0}
    if instances is not None:
        summary["CurrentInstanceCount"] = instances
        summary["DesiredInstanceCount"] = instances
    description: dict[str, Any] = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        "EndpointConfigName": f"{name}-config",
        "EndpointStatus": status,
        "CreationTime": CREATE_TIME,
        "LastModifiedTime": CREATE_TIME,
        "ProductionVariants": [summary],
    }
    if failure_reason is not None:
        description["FailureReason"] = failure_reason
    return description


def expect_endpoint(stubber: Stubber, name: str, **kwargs: Any) -> None:
    stubber.add_response(
        "describe_endpoint", endpoint_description(name, **kwargs), {"EndpointName": name}
    )


# --- Application Auto Scaling (moto) -----------------------------------------------------------


def register_target(autoscaling: BaseClient, endpoint: str, *, minimum: int, maximum: int) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{endpoint}/variant/{VARIANT}",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=minimum,
        MaxCapacity=maximum,
    )


def capacity_of(autoscaling: BaseClient, endpoint: str) -> tuple[int, int] | None:
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[f"endpoint/{endpoint}/variant/{VARIANT}"],
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )["ScalableTargets"]
    if not targets:
        return None
    return targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
