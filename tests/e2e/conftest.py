"""End-to-end fixtures: the real handler and a real botocore client against a local runtime.

The client is signed with fake credentials and sends real HTTP to ``FakeSageMakerRuntime`` on
127.0.0.1, selected with ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` exactly as in production
configuration (the variable is set only while the client is created, so no other test in the
session ever sees it). Clients have the production timeouts and retries, except the one for
the timeout cases, whose read timeout is 1 s instead of 8 s so that they stay fast.
"""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime  # noqa: E402
from tests.support.frontend import (  # noqa: E402
    FAKE_AWS_ENV,
    FakeLambdaContext,
    frontend_package,
    load_frontend,
    patched_environ,
)

E2E_READ_TIMEOUT_S = 1.0


@pytest.fixture(scope="session")
def fake_runtime() -> Iterator[FakeSageMakerRuntime]:
    with FakeSageMakerRuntime() as runtime:
        yield runtime


@pytest.fixture(scope="session")
def frontend() -> ModuleType:
    return load_frontend()


@pytest.fixture(scope="session")
def build_runtime_client(
    frontend: ModuleType, fake_runtime: FakeSageMakerRuntime
) -> Callable[..., Any]:
    """``runtime_client.build_client`` with the environment pointing at the fake runtime."""

    def build(**overrides: Any) -> Any:
        env = {**FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": fake_runtime.url}
        with patched_environ(env):
            return frontend_package().runtime_client.build_client(**overrides)

    return build


@pytest.fixture(scope="session")
def runtime_client(build_runtime_client: Callable[..., Any]) -> Any:
    """The production configuration (2 s connect, 8 s read, 2 attempts): a busy machine that
    stretches a request past a second must not turn into a spurious timeout."""
    return build_runtime_client()


@pytest.fixture(scope="session")
def short_timeout_client(build_runtime_client: Callable[..., Any]) -> Any:
    """The same with a 1 s read timeout, for the timeout cases (no test sleeps 8 s)."""
    return build_runtime_client(read_timeout=E2E_READ_TIMEOUT_S)


@pytest.fixture
def endpoint_name() -> str:
    """A fresh endpoint name per test, so the runtime's counts never mix between tests."""
    return f"fraud-detector-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def live_frontend(
    frontend: ModuleType,
    runtime_client: Any,
    endpoint_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> ModuleType:
    """The handler module, invoking ``endpoint_name`` on the fake runtime."""
    monkeypatch.setattr(frontend, "_client", runtime_client)
    settings = dataclasses.replace(frontend._settings, endpoint_name=endpoint_name)
    monkeypatch.setattr(frontend, "_settings", settings)
    return frontend


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@dataclasses.dataclass
class Live:
    """The handler wired to the fake runtime, with the endpoint name of this test."""

    frontend: ModuleType
    runtime: FakeSageMakerRuntime
    endpoint_name: str
    context: FakeLambdaContext

    def invoke(self, event: object) -> dict[str, Any]:
        response: dict[str, Any] = self.frontend.handler(event, self.context)
        return response


@pytest.fixture
def live(
    live_frontend: ModuleType,
    fake_runtime: FakeSageMakerRuntime,
    endpoint_name: str,
    context: FakeLambdaContext,
) -> Live:
    return Live(live_frontend, fake_runtime, endpoint_name, context)
