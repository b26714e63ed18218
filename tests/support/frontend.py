"""Load the front-end Lambda for tests, and build the events API Gateway sends it.

``lambdas/frontend`` is never put on ``sys.path``: its ``handler.py`` would then shadow (or be
shadowed by) the other functions' ``handler`` modules in the same pytest process. The entry
module is loaded from its file under the name ``frontend_handler``; its package
``sagemaker_frontend`` (a name nothing else uses) is registered from its folder.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND_DIR = REPO_ROOT / "lambdas" / "frontend"
PACKAGE_NAME = "sagemaker_frontend"
HANDLER_MODULE_NAME = "frontend_handler"

MODEL_NAME = "fraud-detector"
MODEL_VERSION = "3f9a1c2b"
ENDPOINT_NAME = f"{MODEL_NAME}-{MODEL_VERSION}"
ALLOWED_CONTENT_TYPES = "application/json,text/csv,application/x-npy,image/jpeg"

# The environment the CDK code gives the function (see lambdas/frontend/README.md).
FUNCTION_ENV: dict[str, str] = {
    "ENDPOINT_NAME": ENDPOINT_NAME,
    "MODEL_NAME": MODEL_NAME,
    "MODEL_VERSION": MODEL_VERSION,
    "ALLOWED_CONTENT_TYPES": ALLOWED_CONTENT_TYPES,
    "METRICS_NAMESPACE": "SafeSageMakerEndpoints",
    "POWERTOOLS_SERVICE_NAME": "frontend",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "LOG_REQUEST_BODY": "false",
}
# Fake credentials and a region; no shared config files, no instance metadata look-ups.
FAKE_AWS_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@contextmanager
def patched_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (``None``: unset) environment variables, restoring the previous values afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load(name: str, location: Path, *, package: bool = False) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        name,
        location / "__init__.py" if package else location,
        submodule_search_locations=[str(location)] if package else None,
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {location}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_frontend() -> ModuleType:
    """``lambdas/frontend/handler.py`` as module ``frontend_handler`` (loaded once per process).

    Its module-level init (settings, logger, runtime client) runs with ``FUNCTION_ENV`` and
    ``FAKE_AWS_ENV`` set, and the environment is restored afterwards. The init client points
    at real AWS and is never used: tests install their own (stub or local-runtime) client.
    """
    loaded = sys.modules.get(HANDLER_MODULE_NAME)
    if loaded is not None:
        return loaded
    with patched_environ(
        {**FUNCTION_ENV, **FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": None}
    ):
        if PACKAGE_NAME not in sys.modules:
            _load(PACKAGE_NAME, FRONTEND_DIR / PACKAGE_NAME, package=True)
        return _load(HANDLER_MODULE_NAME, FRONTEND_DIR / "handler.py")


def load_frontend_copy(module_name: str, env: Mapping[str, str | None]) -> ModuleType:
    """Another, independent copy of ``handler.py`` whose init ran with ``env`` on top of the
    usual environment (to test what init does with a bad configuration)."""
    load_frontend()  # the package, registered once
    with patched_environ(
        {**FUNCTION_ENV, **FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": None, **env}
    ):
        try:
            return _load(module_name, FRONTEND_DIR / "handler.py")
        finally:
            sys.modules.pop(module_name, None)


def frontend_package() -> ModuleType:
    """The ``sagemaker_frontend`` package (``.logic``, ``.config``, ...), loaded on demand."""
    load_frontend()
    return sys.modules[PACKAGE_NAME]


def frontend_module(name: str) -> ModuleType:
    """One module of the package: ``"logic"``, ``"config"``, ``"runtime_client"``, ..."""
    load_frontend()
    return sys.modules[f"{PACKAGE_NAME}.{name}"]


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object that code commonly reads."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "ProdStack-Frontend-fraud-detector"
    function_version: str = "7"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:ProdStack-Frontend-fraud-detector:live"
    )
    memory_limit_in_mb: int = 512
    log_group_name: str = "/aws/lambda/ProdStack-Frontend-fraud-detector"
    log_stream_name: str = "2026/01/01/[7]0123456789abcdef0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def rest_event(
    body: str | bytes | None = b'{"features": [1.5, 2.0, 3.25]}',
    *,
    content_type: str | None = "application/json",
    accept: str | None = "application/json",
    custom_attributes: str | None = None,
    method: str = "POST",
    model: str = MODEL_NAME,
    extra_headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    base64_encoded: bool | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event for ``POST /models/{model}/invocations``.

    ``bytes`` bodies travel base64-encoded (``isBase64Encoded: true``), as API Gateway sends
    binary media types; ``str`` bodies as text. ``base64_encoded`` overrides the flag.
    """
    request_id = request_id or str(uuid.uuid4())
    headers: dict[str, str] = {
        "Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "python-requests/2.32.3",
        "X-Amzn-Trace-Id": "Root=1-65f0c0de-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "CloudFront-Viewer-Country": "US",
        "Accept-Encoding": "gzip, deflate",
    }
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    if custom_attributes is not None:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    headers.update(extra_headers or {})
    if isinstance(body, bytes):
        encoded: str | None = base64.b64encode(body).decode("ascii")
        is_base64 = True
    else:
        encoded, is_base64 = body, False
    if base64_encoded is not None:
        is_base64 = base64_encoded
    path = f"/models/{model}/invocations"
    return {
        "resource": "/models/{model}/invocations",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"model": model},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "x1y2z3",
            "resourcePath": "/models/{model}/invocations",
            "httpMethod": method,
            "extendedRequestId": "Jx4vYFx9IAMF3Aw=",
            "requestTime": "21/Nov/2026:23:30:00 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "a1b2c3d4e5",
            "requestTimeEpoch": 1795303800000,
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": "123456789012",
                "cognitoIdentityId": None,
                "caller": "AIDAEXAMPLEEXAMPLE",
                "sourceIp": "203.0.113.10",
                "principalOrgId": None,
                "accessKey": "ASIAEXAMPLEEXAMPLE",
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": "arn:aws:iam::123456789012:user/app",
                "userAgent": "python-requests/2.32.3",
                "user": "AIDAEXAMPLEEXAMPLE",
            },
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "deploymentId": "abc123",
            "apiId": "a1b2c3d4e5",
        },
        "body": encoded,
        "isBase64Encoded": is_base64,
    }


@dataclass
class StubClient:
    """Stands in for the runtime client: records calls, answers or raises as told."""

    content_type: str = "application/json"
    body: bytes = b'{"score": 0.87}'
    error: BaseException | None = None
    answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            return self.answer(kwargs)
        return {
            "Body": io.BytesIO(self.body),
            "ContentType": self.content_type,
            "InvokedProductionVariant": "AllTraffic",
        }
