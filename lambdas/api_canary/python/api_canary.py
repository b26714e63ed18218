"""CloudWatch Synthetics canary (``syn-python-selenium`` runtime, no browser): POST each model's
sample request to its API route and fail the run unless every route answers 2xx.

Configuration (written by ``infra/safe_sagemaker/constructs/api_canary.py``): ``routes.json``
beside this script, a JSON list of ``{"name", "path", "contentType", "body"}`` (in the archive,
as Synthetics takes only 4 KB of environment variables), and the environment:

- ``BASE_URL``: the API stage URL, e.g. ``https://abc.execute-api.eu-west-1.amazonaws.com/v1/``.
- ``SIGN_REQUESTS``: ``"true"`` to sign every request with SigV4 (service ``execute-api``) with
  the canary role's credentials, for an API with IAM auth.
- ``API_KEY_ID``: optional; the id of the API key to send as ``x-api-key``, read once per cold
  start with ``apigateway:GET`` so that the key's value never sits in the configuration.

A failed run raises, which Synthetics records as a failed run (SuccessPercent 0 for it); every
route is tried before raising so the log names all failing routes, not just the first.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

logger = logging.getLogger("api_canary")
logger.setLevel(logging.INFO)

# API Gateway gives up on an integration after 29 s; waiting longer learns nothing.
TIMEOUT_SECONDS = 30.0
ROUTES_FILE = Path(__file__).with_name("routes.json")
_ROUTE_KEYS = frozenset({"name", "path", "contentType", "body"})


class CanaryConfigError(ValueError):
    """The configuration does not match the contract with the CDK code (a deployment bug)."""


class CanaryRunError(Exception):
    """At least one route did not answer 2xx."""


@dataclass(frozen=True)
class Route:
    name: str
    url: str
    content_type: str
    body: str


@dataclass(frozen=True)
class Settings:
    routes: tuple[Route, ...]
    sign_requests: bool
    api_key_id: str | None
    region: str

    @classmethod
    def load(cls, env: Mapping[str, str], routes_json: str) -> Settings:
        """From the environment and the text of ``routes.json``."""
        base_url = env.get("BASE_URL", "").strip()
        if not base_url.startswith("https://"):
            raise CanaryConfigError(f"BASE_URL must be an https URL, got {base_url!r}")
        try:
            raw_routes = json.loads(routes_json)
        except json.JSONDecodeError as error:
            raise CanaryConfigError(f"routes.json is not valid JSON: {error}") from None
        if not isinstance(raw_routes, list) or not raw_routes:
            raise CanaryConfigError("routes.json must hold a non-empty JSON list")
        routes = []
        for index, raw in enumerate(raw_routes):
            if not isinstance(raw, dict) or set(raw) != _ROUTE_KEYS:
                raise CanaryConfigError(
                    f"routes.json[{index}] must have exactly {sorted(_ROUTE_KEYS)}"
                )
            if not all(isinstance(value, str) and value for value in raw.values()):
                raise CanaryConfigError(f"routes.json[{index}] values must be non-empty strings")
            url = urllib.parse.urljoin(base_url.rstrip("/") + "/", raw["path"].lstrip("/"))
            routes.append(Route(raw["name"], url, raw["contentType"], raw["body"]))
        return cls(
            routes=tuple(routes),
            sign_requests=env.get("SIGN_REQUESTS", "false").strip().lower() == "true",
            api_key_id=env.get("API_KEY_ID", "").strip() or None,
            region=env.get("AWS_REGION", "").strip() or "us-east-1",
        )


def build_request(
    route: Route,
    *,
    credentials: Any = None,
    region: str = "us-east-1",
    api_key: str | None = None,
) -> urllib.request.Request:
    """The HTTP request for ``route``: signed with SigV4 when ``credentials`` are given (botocore
    credentials), with an ``x-api-key`` header when ``api_key`` is."""
    body = route.body.encode()
    headers = {"Content-Type": route.content_type}
    if api_key is not None:
        headers["x-api-key"] = api_key
    if credentials is not None:
        signed = AWSRequest(method="POST", url=route.url, data=body, headers=headers)
        SigV4Auth(credentials, "execute-api", region).add_auth(signed)
        headers = dict(signed.headers.items())
    return urllib.request.Request(route.url, data=body, headers=headers, method="POST")


Opener = Callable[..., Any]


def call(request: urllib.request.Request, opener: Opener = urllib.request.urlopen) -> str | None:
    """Send ``request``; return None on a 2xx answer, else what went wrong."""
    try:
        with opener(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode(errors="replace")
        return f"HTTP {error.code}: {detail}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return f"no answer: {error}"
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


def run(
    settings: Settings,
    *,
    credentials: Any = None,
    api_key: str | None = None,
    opener: Opener = urllib.request.urlopen,
) -> None:
    failures = []
    for route in settings.routes:
        request = build_request(
            route,
            credentials=credentials if settings.sign_requests else None,
            region=settings.region,
            api_key=api_key,
        )
        started = time.monotonic()
        problem = call(request, opener)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        if problem is None:
            logger.info("route %s answered 2xx in %d ms", route.name, elapsed_ms)
        else:
            logger.error("route %s failed after %d ms: %s", route.name, elapsed_ms, problem)
            failures.append(f"{route.name}: {problem}")
    if failures:
        raise CanaryRunError("; ".join(failures))


_api_key_cache: dict[str, str] = {}


def _api_key(key_id: str) -> str:
    if key_id not in _api_key_cache:
        answer = boto3.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)
        _api_key_cache[key_id] = answer["value"]
    return _api_key_cache[key_id]


def handler(event: Any, context: Any) -> dict[str, int]:
    try:
        routes_json = ROUTES_FILE.read_text(encoding="utf-8")
    except OSError as error:
        raise CanaryConfigError(f"routes.json is not beside the script: {error}") from None
    settings = Settings.load(os.environ, routes_json)
    credentials = None
    if settings.sign_requests:
        credentials = botocore.session.get_session().get_credentials()
    api_key = _api_key(settings.api_key_id) if settings.api_key_id else None
    run(settings, credentials=credentials, api_key=api_key)
    return {"routes": len(settings.routes)}
