"""The post-deploy smoke test against a local HTTP server on 127.0.0.1 that answers as the
prediction API does (JSON body, ``x-sagemaker-endpoint``), and its pure verdicts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from botocore.credentials import Credentials

from safe_sagemaker.pipeline import smoke_test
from safe_sagemaker.pipeline.smoke_test import Answer, Check, evaluate, region_of, run

SERVED = "dev-fraud-detector-0a1b2c3d"
CREDENTIALS = Credentials("AKIDEXAMPLE", "secret")


class _Api(BaseHTTPRequestHandler):
    """``/ok`` answers like a healthy model, ``/old`` from another endpoint, ``/broken`` with a
    503, ``/slow`` too late. Records each request's headers."""

    disable_nagle_algorithm = True
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        type(self).seen.append(dict(self.headers.items()))
        status, endpoint, body = 200, SERVED, b'{"predictions": [0.12]}'
        if self.path == "/old":
            endpoint = "dev-fraud-detector-99999999"
        elif self.path == "/broken":
            status, body = 503, b'{"message": "endpoint unreachable", "requestId": "r"}'
        elif self.path == "/slow":
            time.sleep(1.5)
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"x-sagemaker-endpoint: {endpoint}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        # Headers and body in one write: no delayed-ACK stall on loopback.
        self.wfile.write(head + body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def check(**changes: Any) -> Check:
    fields: dict[str, Any] = {
        "name": "fraud-detector",
        "url_variable": "URL",
        "endpoint_variable": "ENDPOINT",
        "body": '{"instances": [[0.1, 2]]}',
        "expect_json_keys": ("predictions",),
        "timeout_seconds": 1.0,
    }
    return Check(**{**fields, **changes})


def run_against(api_url: str, path: str, **changes: Any) -> smoke_test.Outcome:
    environ = {"URL": api_url + path, "ENDPOINT": SERVED}
    return run(check(**changes), environ, CREDENTIALS, region="us-east-1")


def test_success_is_signed_for_execute_api(api_url: str) -> None:
    outcome = run_against(api_url, "/ok")
    assert outcome.passed, outcome.problems
    headers = _Api.seen[-1]
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
    assert headers["Content-Type"] == "application/json"


def test_an_answer_from_another_endpoint_fails(api_url: str) -> None:
    outcome = run_against(api_url, "/old")
    assert not outcome.passed
    assert outcome.problems == [
        f"x-sagemaker-endpoint is 'dev-fraud-detector-99999999', expected {SERVED!r} "
        "(the endpoint the stack now serves)"
    ]


def test_a_5xx_fails_with_the_body(api_url: str) -> None:
    outcome = run_against(api_url, "/broken")
    assert not outcome.passed
    assert outcome.problems[0].startswith('status 503, expected 200: {"message": "endpoint')


def test_a_timeout_fails(api_url: str) -> None:
    outcome = run_against(api_url, "/slow", timeout_seconds=0.3)
    assert not outcome.passed
    assert outcome.problems[0].startswith("no answer within 0.3 s")


def test_body_expectation_from_config(api_url: str) -> None:
    assert run_against(api_url, "/ok", expect_body_contains='"predictions"').passed
    outcome = run_against(api_url, "/ok", expect_json_keys=("scores",))
    assert outcome.problems[0].startswith("body lacks keys ['scores']")


def test_missing_variables_fail_without_a_request() -> None:
    outcome = run(check(), {}, CREDENTIALS, region="us-east-1")
    assert outcome.problems == ["set the environment variables URL and ENDPOINT"]


def test_evaluate_non_json_body() -> None:
    answer = Answer(200, {"X-SageMaker-Endpoint": SERVED}, b"<html>")
    assert evaluate(check(), answer, SERVED).problems == [
        "body is not JSON, expected keys ['predictions']: <html>"
    ]
    assert evaluate(check(expect_json_keys=()), answer, SERVED).passed


def test_region_of_an_api_url() -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/models/m/invocations"
    assert region_of(url) == "eu-west-1"
    with pytest.raises(ValueError, match="not an API Gateway"):
        region_of("http://127.0.0.1:8080/x")


def test_main_reports_and_exits_nonzero(
    api_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("URL", api_url + "/broken")
    monkeypatch.setenv("ENDPOINT", SERVED)
    monkeypatch.setattr(smoke_test, "region_of", lambda url: "us-east-1")
    spec = [
        {
            "name": "fraud-detector",
            "url_variable": "URL",
            "endpoint_variable": "ENDPOINT",
            "body": "{}",
            "timeout_seconds": 1,
        }
    ]
    assert smoke_test.main(["--checks", json.dumps(spec)]) == 1
    assert "smoke test fraud-detector: FAIL" in capsys.readouterr().out
