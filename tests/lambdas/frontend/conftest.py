"""Fixtures for the front-end Lambda's unit tests.

The function is loaded by ``tests.support.frontend.load_frontend`` under the module name
``frontend_handler`` (its package as ``sagemaker_frontend``), never by putting
``lambdas/frontend`` on ``sys.path``, so it cannot clash with other functions' ``handler.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:  # for `tests.support` under any pytest import mode
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.frontend import (  # noqa: E402
    FUNCTION_ENV,
    FakeLambdaContext,
    StubClient,
    frontend_module,
    load_frontend,
)


@pytest.fixture(scope="session")
def frontend() -> ModuleType:
    """``lambdas/frontend/handler.py``, loaded as ``frontend_handler``."""
    return load_frontend()


@pytest.fixture(scope="session")
def logic(frontend: ModuleType) -> ModuleType:
    return frontend_module("logic")


@pytest.fixture(scope="session")
def config(frontend: ModuleType) -> ModuleType:
    return frontend_module("config")


@pytest.fixture(scope="session")
def runtime_client(frontend: ModuleType) -> ModuleType:
    return frontend_module("runtime_client")


@pytest.fixture
def settings(config: ModuleType) -> Any:
    return config.Settings.from_env(FUNCTION_ENV)


@pytest.fixture
def context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def stub(frontend: ModuleType, monkeypatch: pytest.MonkeyPatch) -> StubClient:
    """A ``StubClient`` installed as the function's runtime client for one test."""
    client = StubClient()
    monkeypatch.setattr(frontend, "_client", client)
    return client
