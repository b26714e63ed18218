"""The Synthetics canary script, run locally: request building and SigV4 signing with botocore,
every route tried, the run failing on any non-2xx route, against a local HTTP server."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from tests.support.lambda_modules import load_module

SCRIPT = Path(__file__).resolve().parents[3] / "lambdas" / "api_canary" / "python" / "api_canary.py"


canary = load_module("api_canary", SCRIPT)
ROUTES = [
    {"name": "good", "path": "/models/good/invocations", "contentType": "text/csv", "body": "1,2"},
    {
        "name": "bad",
        "path": "models/bad/invocations",
        "contentType": "application/json",
        "body": "{}",
    },
]


class _Recorder(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status = 500 if "/bad/" in self.path else 200
        payload = b'{"ok": true}'
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        # Headers and body in one write (see the spec on loopback delayed ACKs).
        self.wfile.write(head.encode() + payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.requests = []
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder) as httpd:
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/", _Recorder.requests
        httpd.shutdown()


def settings_for(base_url: str, *, sign: bool = False) -> Any:
    env = {"BASE_URL": "https://unused.example/v1/", "SIGN_REQUESTS": "true" if sign else "false"}
    parsed = canary.Settings.load(env, json.dumps(ROUTES))
    routes = tuple(
        canary.Route(
            r.name, r.url.replace("https://unused.example/v1/", base_url), r.content_type, r.body
        )
        for r in parsed.routes
    )
    return canary.Settings(routes, parsed.sign_requests, None, "eu-west-1")


def test_routes_are_joined_to_the_stage_url() -> None:
    settings = canary.Settings.load(
        {
            "BASE_URL": "https://abc.execute-api.eu-west-1.amazonaws.com/v1/",
            "AWS_REGION": "eu-west-1",
        },
        json.dumps(ROUTES),
    )
    assert [r.url for r in settings.routes] == [
        "https://abc.execute-api.eu-west-1.amazonaws.com/v1/models/good/invocations",
        "https://abc.execute-api.eu-west-1.amazonaws.com/v1/models/bad/invocations",
    ]
    assert not settings.sign_requests and settings.api_key_id is None
    assert settings.region == "eu-west-1"


@pytest.mark.parametrize(
    ("base_url", "routes_json", "message"),
    [
        ("http://x/", "[]", "BASE_URL must be an https URL"),
        ("https://x/", "{", "routes.json is not valid JSON"),
        ("https://x/", "[]", "non-empty JSON list"),
        ("https://x/", '[{"name": "a"}]', r"routes.json\[0\] must have exactly"),
        (
            "https://x/",
            '[{"name": "", "path": "/p", "contentType": "a/b", "body": "x"}]',
            "non-empty strings",
        ),
    ],
)
def test_a_broken_configuration_names_what_is_wrong(
    base_url: str, routes_json: str, message: str
) -> None:
    with pytest.raises(canary.CanaryConfigError, match=message):
        canary.Settings.load({"BASE_URL": base_url}, routes_json)


def test_signed_request_carries_a_sigv4_signature_for_execute_api() -> None:
    route = canary.Route(
        "m", "https://abc.execute-api.eu-west-1.amazonaws.com/v1/x", "text/csv", "1"
    )
    request = canary.build_request(
        route, credentials=Credentials("AKIDEXAMPLE", "secret", "token"), region="eu-west-1"
    )
    headers = {key.lower(): value for key, value in request.header_items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"
    assert headers["content-type"] == "text/csv"
    assert request.get_method() == "POST" and request.data == b"1"


def test_unsigned_request_has_no_signature_but_may_carry_an_api_key() -> None:
    route = canary.Route("m", "https://api.example/v1/x", "application/json", "{}")
    request = canary.build_request(route, api_key="k-123")
    headers = {key.lower(): value for key, value in request.header_items()}
    assert "authorization" not in headers
    assert headers["x-api-key"] == "k-123"


def test_run_tries_every_route_and_fails_naming_the_failing_ones(
    server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = server
    with pytest.raises(canary.CanaryRunError) as raised:
        canary.run(settings_for(base_url))
    assert str(raised.value).startswith("bad: HTTP 500")
    assert "good" not in str(raised.value)
    assert [r["path"] for r in requests] == [
        "/v1/models/good/invocations",
        "/v1/models/bad/invocations",
    ]
    assert requests[0]["body"] == b"1,2"
    assert requests[0]["headers"]["Content-Type"] == "text/csv"


def test_run_signs_every_request_when_asked(server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, requests = server
    with pytest.raises(canary.CanaryRunError):
        canary.run(settings_for(base_url, sign=True), credentials=Credentials("AKID", "secret"))
    assert all(r["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256") for r in requests)


def test_a_route_that_does_not_answer_fails_the_run() -> None:
    route = canary.Route("gone", "http://127.0.0.1:9/v1/x", "text/csv", "1")
    with pytest.raises(canary.CanaryRunError, match="gone: no answer"):
        canary.run(canary.Settings((route,), False, None, "eu-west-1"))


def use_routes_file(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """ROUTES as the routes.json beside the script, as the canary's archive holds it."""
    routes_file = folder / "routes.json"
    routes_file.write_text(json.dumps(ROUTES), encoding="utf-8")
    monkeypatch.setattr(canary, "ROUTES_FILE", routes_file)


def test_handler_reads_the_api_key_once_by_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = boto3.client(
        "apigateway", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    seen: dict[str, Any] = {}
    monkeypatch.setattr(canary.boto3, "client", lambda service: client)
    monkeypatch.setattr(canary, "run", lambda settings, **kwargs: seen.update(kwargs))
    monkeypatch.setattr(canary, "_api_key_cache", {})
    use_routes_file(monkeypatch, tmp_path)
    env = {
        "BASE_URL": "https://x.example/v1/",
        "API_KEY_ID": "key-id-1",
        "AWS_REGION": "eu-west-1",
    }
    monkeypatch.setattr(canary.os, "environ", env)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_api_key",
            {"id": "key-id-1", "value": "secret-value"},
            {"apiKey": "key-id-1", "includeValue": True},
        )
        assert canary.handler({}, None) == {"routes": 2}
        assert canary.handler({}, None) == {"routes": 2}  # cached: one call only
    assert seen["api_key"] == "secret-value"
    assert seen["credentials"] is None


def test_handler_signs_with_the_runtime_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(canary, "run", lambda settings, **kwargs: seen.update(kwargs))
    use_routes_file(monkeypatch, tmp_path)
    env = {
        "BASE_URL": "https://x.example/v1/",
        "SIGN_REQUESTS": "true",
        "AWS_ACCESS_KEY_ID": "AKIDCANARY",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(canary.os, "environ", env)
    canary.handler({}, None)
    assert seen["credentials"].access_key == "AKIDCANARY"


def test_a_missing_routes_file_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(canary, "ROUTES_FILE", tmp_path / "routes.json")
    monkeypatch.setattr(canary.os, "environ", {"BASE_URL": "https://x.example/v1/"})
    with pytest.raises(canary.CanaryConfigError, match=r"routes\.json is not beside the script"):
        canary.handler({}, None)
