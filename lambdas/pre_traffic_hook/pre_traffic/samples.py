"""The sample requests: API Gateway proxy events sent through the NEW function version, and
the verdict on each answer (status, the green endpoint's header, content type, JSON keys)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from deployment_hooks_common import AliasShift, Deadline, Endpoints, HookFailedError
from deployment_hooks_common.aws import TimeBoxedClient

from pre_traffic.settings import SampleRequest, Settings

logger = Logger(child=True)

# The front end answers within API Gateway's 29 s integration timeout; allow a little more.
INVOKE_READ_TIMEOUT_SECONDS = 35.0
ENDPOINT_HEADER = "x-sagemaker-endpoint"
SNIPPET_CHARS = 300


def proxy_event(sample: SampleRequest, *, number: int, model: str) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event for ``POST /models/<model>/invocations``.

    The API has one literal resource per model, so there are no path parameters.
    """
    path = f"/models/{model}/invocations"
    headers = {"Content-Type": sample.content_type}
    if sample.accept is not None:
        headers["Accept"] = sample.accept
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": f"pre-traffic-hook-{number}",
            "resourcePath": path,
            "path": path,
            "httpMethod": "POST",
            "stage": "pre-traffic-hook",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pre-traffic-hook"},
        },
        "body": sample.body,
        "isBase64Encoded": sample.body_base64,
    }


def _snippet(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def _response_headers(proxy: Mapping[str, Any]) -> dict[str, str]:
    """Response headers with lowercased names (``headers`` wins over ``multiValueHeaders``)."""
    headers: dict[str, str] = {}
    for name, values in (proxy.get("multiValueHeaders") or {}).items():
        if isinstance(values, list) and values:
            headers[str(name).lower()] = str(values[0])
    for name, value in (proxy.get("headers") or {}).items():
        headers[str(name).lower()] = str(value)
    return headers


def _response_body(proxy: Mapping[str, Any], where: str) -> str:
    body = proxy.get("body") or ""
    if not isinstance(body, str):
        raise HookFailedError(f"{where}: response body is not a string")
    if proxy.get("isBase64Encoded"):
        try:
            return base64.b64decode(body).decode("utf-8", errors="replace")
        except binascii.Error:
            raise HookFailedError(f"{where}: response body is not valid base64") from None
    return body


def verify_sample_response(
    response: Mapping[str, Any],
    sample: SampleRequest,
    *,
    number: int,
    shift: AliasShift,
    green: str,
) -> None:
    where = f"sample request {number} through {shift.function_name}:{shift.target_version}"
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise HookFailedError(
            f"{where}: the function failed ({response['FunctionError']}): {_snippet(payload)}"
        )
    executed = response.get("ExecutedVersion")
    if executed is not None and executed != shift.target_version:
        raise HookFailedError(f"{where}: version {executed} answered instead")
    try:
        proxy = json.loads(payload)
    except json.JSONDecodeError:
        raise HookFailedError(
            f"{where}: the answer is not a proxy response: {_snippet(payload)}"
        ) from None
    if not isinstance(proxy, dict) or "statusCode" not in proxy:
        raise HookFailedError(f"{where}: the answer has no statusCode: {_snippet(payload)}")

    body = _response_body(proxy, where)
    status = proxy["statusCode"]
    if str(status) != str(sample.expect_status):
        raise HookFailedError(
            f"{where}: status {status}, expected {sample.expect_status}: {_snippet(body)}"
        )
    headers = _response_headers(proxy)
    answered_by = headers.get(ENDPOINT_HEADER)
    if answered_by != green:
        raise HookFailedError(
            f"{where}: answered by endpoint {answered_by!r} ({ENDPOINT_HEADER} header), "
            f"expected green {green!r}"
        )
    content_type = headers.get("content-type", "")
    if sample.expect_content_type and not content_type.lower().startswith(
        sample.expect_content_type.lower()
    ):
        raise HookFailedError(
            f"{where}: content type {content_type!r}, expected {sample.expect_content_type!r}"
        )
    if sample.expect_json_keys:
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            raise HookFailedError(f"{where}: body is not JSON: {_snippet(body)}") from None
        if not isinstance(document, dict):
            raise HookFailedError(f"{where}: body is not a JSON object: {_snippet(body)}")
        missing = [key for key in sample.expect_json_keys if key not in document]
        if missing:
            raise HookFailedError(f"{where}: body lacks keys {missing}: {_snippet(body)}")


def send_sample_requests(
    lambda_client: BaseClient | TimeBoxedClient,
    *,
    shift: AliasShift,
    endpoints: Endpoints,
    settings: Settings,
    deadline: Deadline,
) -> str:
    green = endpoints.green
    model = endpoints.model_name or shift.function_name
    for number, sample in enumerate(settings.samples, start=1):
        if deadline.remaining() < INVOKE_READ_TIMEOUT_SECONDS:
            raise HookFailedError(
                f"not enough time left to send sample request {number} before the hook's own "
                "timeout; raise the pre-traffic hook's Lambda timeout"
            )
        response = lambda_client.invoke(
            FunctionName=shift.function_name,
            Qualifier=shift.target_version,
            Payload=json.dumps(proxy_event(sample, number=number, model=model)).encode(),
        )
        verify_sample_response(response, sample, number=number, shift=shift, green=green)
        logger.info("sample request answered as expected", extra={"sample": number})
    return (
        f"{len(settings.samples)} sample request(s) through version {shift.target_version} "
        f"answered correctly by {green}"
    )
