"""Post-deploy smoke test: one SigV4-signed request per check through a deployed prediction API.

Runs in CodeBuild from the repository checkout after the pipeline deployed a stage
(``PYTHONPATH=infra python -m safe_sagemaker.pipeline.smoke_test --checks "$SMOKE_CHECKS"``).
A check passes when the
answer has the expected status, ``x-sagemaker-endpoint`` names the endpoint the stack now serves
(so a request that reached the old blue endpoint fails), and the body meets the configured
expectation. Pure logic (``evaluate``) is separate from the network and from ``main``; it needs
only botocore, never the CDK.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

ENDPOINT_HEADER = "x-sagemaker-endpoint"


@dataclass(frozen=True)
class Check:
    """One request and what its answer must show. ``url`` and ``expect_endpoint`` name the
    environment variables that hold them (CodeBuild gets them from the stack outputs)."""

    name: str
    url_variable: str
    endpoint_variable: str
    body: str
    content_type: str = "application/json"
    expect_status: int = 200
    expect_json_keys: tuple[str, ...] = ()
    expect_body_contains: str | None = None
    timeout_seconds: float = 20.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Check:
        return cls(
            **{**data, "expect_json_keys": tuple(data.get("expect_json_keys", ()))},
        )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Outcome:
    check: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def evaluate(check: Check, answer: Answer, expected_endpoint: str) -> Outcome:
    """Every way ``answer`` falls short of ``check``; none means it passed."""
    outcome = Outcome(check.name)
    if answer.status != check.expect_status:
        outcome.problems.append(
            f"status {answer.status}, expected {check.expect_status}: {_excerpt(answer.body)}"
        )
    headers = {key.lower(): value for key, value in answer.headers.items()}
    served = headers.get(ENDPOINT_HEADER)
    if served != expected_endpoint:
        outcome.problems.append(
            f"{ENDPOINT_HEADER} is {served!r}, expected {expected_endpoint!r} "
            "(the endpoint the stack now serves)"
        )
    if check.expect_body_contains is not None and check.expect_body_contains.encode() not in (
        answer.body
    ):
        outcome.problems.append(
            f"body does not contain {check.expect_body_contains!r}: {_excerpt(answer.body)}"
        )
    if check.expect_json_keys:
        outcome.problems.extend(_missing_keys(answer.body, check.expect_json_keys))
    return outcome


def _missing_keys(body: bytes, keys: Sequence[str]) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError:
        return [f"body is not JSON, expected keys {list(keys)}: {_excerpt(body)}"]
    if not isinstance(document, dict):
        return [f"body is not a JSON object, expected keys {list(keys)}: {_excerpt(body)}"]
    missing = [key for key in keys if key not in document]
    return [f"body lacks keys {missing}: {_excerpt(body)}"] if missing else []


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


def region_of(url: str) -> str:
    """The region of an ``https://<id>.execute-api.<region>.amazonaws.com/...`` URL."""
    host = url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    if len(parts) < 4 or parts[1] != "execute-api":
        raise ValueError(f"{url!r} is not an API Gateway execute-api URL")
    return parts[2]


def signed_request(check: Check, url: str, credentials: Any, region: str) -> urllib.request.Request:
    """The request of ``check``, signed for ``execute-api`` (the API uses IAM auth)."""
    aws_request = AWSRequest(
        method="POST",
        url=url,
        data=check.body.encode(),
        headers={"Content-Type": check.content_type},
    )
    SigV4Auth(credentials, "execute-api", region).add_auth(aws_request)
    return urllib.request.Request(
        url, data=check.body.encode(), headers=dict(aws_request.headers.items()), method="POST"
    )


def send(request: urllib.request.Request, timeout: float) -> Answer:
    """Send ``request``; an HTTP error status is an answer too, a timeout is not."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read())


def run(
    check: Check, environ: Mapping[str, str], credentials: Any, region: str | None = None
) -> Outcome:
    """Send ``check`` and judge the answer. ``region``: the signing region; default: the one in
    the URL."""
    url = environ.get(check.url_variable, "")
    expected_endpoint = environ.get(check.endpoint_variable, "")
    if not url or not expected_endpoint:
        return Outcome(
            check.name,
            [f"set the environment variables {check.url_variable} and {check.endpoint_variable}"],
        )
    request = signed_request(check, url, credentials, region or region_of(url))
    try:
        answer = send(request, check.timeout_seconds)
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        return Outcome(check.name, [f"no answer within {check.timeout_seconds:g} s: {error}"])
    return evaluate(check, answer, expected_endpoint)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--checks", required=True, help="JSON list of checks (see Check)")
    args = parser.parse_args(argv)
    checks = [Check.from_json(item) for item in json.loads(args.checks)]
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        print("smoke test: no AWS credentials to sign with", file=sys.stderr)
        return 2
    outcomes = [run(check, os.environ, credentials) for check in checks]
    for outcome in outcomes:
        verdict = "PASS" if outcome.passed else "FAIL"
        print(f"smoke test {outcome.check}: {verdict}")
        for problem in outcome.problems:
            print(f"  - {problem}")
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
