"""Fixtures of the command-line tests: fake credentials, moto, the fake runtime and API, and a
runner that calls ``safe-sagemaker`` in-process (Click's CliRunner) with stdout and stderr
apart."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime
from tests.support.frontend import FAKE_AWS_ENV

REGION = "us-east-1"
DEV_BLUE = "dev-fraud-detector-5912c004"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def moto(aws_env: None) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="module")
def runtime() -> Iterator[FakeSageMakerRuntime]:
    with FakeSageMakerRuntime() as fake:
        yield fake


@pytest.fixture
def runtime_env(
    monkeypatch: pytest.MonkeyPatch, runtime: FakeSageMakerRuntime, aws_env: None
) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
    return runtime.url


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    from safe_sagemaker.cli.main import cli

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], input=input)

    return invoke


def one_line_error(result: Result) -> str:
    """The error a command printed: exactly one line on stderr, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> Iterator[Callable[[str], Any]]:
    """``stub(service)``: that service's client of every command is one behind botocore's
    Stubber (requests checked against the API model); other services are left alone."""
    import boto3
    from botocore.stub import Stubber

    from safe_sagemaker.cli.context import Context

    clients: dict[str, Any] = {}
    stubbers: list[Stubber] = []
    original = Context.client

    def client_for(self: Context, service: str) -> Any:
        return clients[service] if service in clients else original(self, service)

    monkeypatch.setattr(Context, "client", client_for)

    def make(service: str) -> Stubber:
        clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        stubbers.append(Stubber(clients[service]))
        stubbers[-1].activate()
        return stubbers[-1]

    yield make
    for stubber in stubbers:
        stubber.deactivate()


@pytest.fixture
def cloudformation(stub: Callable[[str], Any]) -> Any:
    """CloudFormation is stubbed, not moto's: moto's would need the ``moto[cloudformation]``
    extra (19 more packages, docker and graphql-core among them, and another jsonschema than
    cfn-lint's). CodeDeploy, CloudWatch and Lambda are moto's."""
    return stub("cloudformation")


def stub_outputs(stubber: Any, stack: str, outputs: dict[str, str]) -> None:
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": stack,
                    "CreationTime": "2026-12-01T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": stack},
    )


def stub_missing_stack(stubber: Any, operation: str, stack: str) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ValidationError",
        service_message=f"Stack with id {stack} does not exist",
        http_status_code=400,
    )


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    """A copy of the repository's environment files that a test may change."""
    folder = tmp_path / "environments"
    shutil.copytree(Path(__file__).resolve().parents[2] / "infra" / "environments", folder)
    return folder
