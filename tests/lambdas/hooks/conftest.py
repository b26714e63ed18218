"""Fixtures for the CodeDeploy hook tests.

Several Lambda folders hold a ``handler.py``; each hook's handler is loaded here under its own
module name so they can never clash. The shared layer's ``python/`` folder goes on ``sys.path``
the way the Lambda runtime puts ``/opt/python`` there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
LAYER = REPO / "lambdas" / "deployment_hooks_common" / "python"
# Each hook's folder as the runtime puts it first (/var/task: its handler's own package), the
# layer as the runtime mounts it (/opt/python), the repository for `tests.` imports under any
# pytest import mode.
HOOK_FOLDERS = [REPO / "lambdas" / "pre_traffic_hook", REPO / "lambdas" / "post_traffic_hook"]
for path in (*HOOK_FOLDERS, LAYER, REPO):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tests.lambdas.hooks.hook_fakes import REGION, FakeClock  # noqa: E402
from tests.support.lambda_modules import load_module as _load  # noqa: E402

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "deployment-hooks-test",
}
# Settings a test must not inherit from the machine running it.
UNSET_ENV = (
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AUTOSCALING_MIN_CAPACITY",
    "AUTOSCALING_MAX_CAPACITY",
    "SAMPLE_REQUESTS",
    "CAPACITY_POLL_SECONDS",
    "MIN_INVOCATIONS",
    "MAX_5XX_RATIO",
    "METRICS_WAIT_SECONDS",
    "METRICS_POLL_SECONDS",
    "MODEL_NAME",
    "METRICS_NAMESPACE",
    "MAX_HOOK_SECONDS",
    "VARIANT_NAME",
)


def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in UNSET_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region for every test: nothing can reach a real account."""
    _fake_aws_env(monkeypatch)


@pytest.fixture(scope="session")
def _session_aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_aws_env(monkeypatch)
        yield


@pytest.fixture(scope="session")
def pre_hook(_session_aws_env: None) -> ModuleType:
    """``lambdas/pre_traffic_hook/handler.py`` as module ``pre_traffic_hook_handler``."""
    return _load("pre_traffic_hook_handler", REPO / "lambdas" / "pre_traffic_hook" / "handler.py")


@pytest.fixture(scope="session")
def post_hook(_session_aws_env: None) -> ModuleType:
    """``lambdas/post_traffic_hook/handler.py`` as module ``post_traffic_hook_handler``."""
    return _load("post_traffic_hook_handler", REPO / "lambdas" / "post_traffic_hook" / "handler.py")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
