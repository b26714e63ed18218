"""Fixtures for the endpoint log group custom resource (``lambdas/endpoint_log_group``).

Its logic module is loaded under its own name (``log_group_resource``, as the Lambda runtime
imports it) and the handler as ``endpoint_log_group_handler``, never by putting the folder on
``sys.path``, so it cannot clash with other functions' ``handler.py``.

moto emulates CloudWatch Logs except ``AssociateKmsKey``; ``MotoLogs`` adds that one call on top
of moto's own state (the group must exist, and DescribeLogGroups then shows the key).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.logs.models import logs_backends

from tests.support.lambda_modules import load_module

FOLDER = Path(__file__).resolve().parents[3] / "lambdas" / "endpoint_log_group"
REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ProdStack/0a1b2c3d"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/99999999-8888-7777-6666-555555555555"
GROUP = "/aws/sagemaker/Endpoints/prod-fraud-detector-1a2b3c4d"


@pytest.fixture(scope="session")
def logic() -> ModuleType:
    return sys.modules.get("log_group_resource") or load_module(
        "log_group_resource", FOLDER / "log_group_resource.py"
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        yield


class MotoLogs:
    """A boto3 ``logs`` client on moto, plus the ``AssociateKmsKey`` moto lacks."""

    def __init__(self) -> None:
        self.client = boto3.client("logs", region_name=REGION)
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            return method(**kwargs)

        return call

    def associate_kms_key(self, *, logGroupName: str, kmsKeyId: str) -> dict[str, Any]:  # noqa: N803
        self.calls.append("associate_kms_key")
        group = logs_backends[ACCOUNT][REGION].groups.get(logGroupName)
        if group is None:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "no such group"}},
                "AssociateKmsKey",
            )
        group.kms_key_id = kmsKeyId
        return {}


@pytest.fixture
def logs(aws: None) -> MotoLogs:
    return MotoLogs()


@pytest.fixture
def handler_module(aws: None, logic: ModuleType) -> ModuleType:
    """``handler.py`` loaded inside the mock, so its module-level client talks to moto."""
    return load_module("endpoint_log_group_handler", FOLDER / "handler.py")


def event(request_type: str, **properties: Any) -> dict[str, Any]:
    """A CloudFormation request as the Provider framework passes it on."""
    base: dict[str, Any] = {
        "RequestType": request_type,
        "StackId": STACK_ID,
        "RequestId": "5d2f1a4e-0000-4000-8000-000000000000",
        "LogicalResourceId": "frauddetectorEndpointLogGroup",
        "ResourceType": "Custom::EndpointLogGroup",
        "ResourceProperties": {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider",
            "LogGroupName": GROUP,
            "RetentionInDays": "90",
            "KmsKeyId": KEY_ARN,
            "Tags": {"project": "safe-sagemaker-endpoints"},
            **properties,
        },
    }
    if request_type != "Create":
        base["PhysicalResourceId"] = GROUP
    return base
