"""Pure logic of the front end: validate a request, classify a failure, shape a response.

Nothing here calls AWS or reads the environment, so all of it is tested without a network.

HTTP status mapping (the error body is always ``{"message": ..., "requestId": ...}``):

====================================================  ======  ==================================
Condition                                             Status  Notes
====================================================  ======  ==================================
event is not a REST (v1) proxy event                  400
method other than POST                                405     ``Allow: POST``
``pathParameters.model`` names another model          404
Content-Type missing or not in the allowlist          415
Content-Type / Accept / custom attributes unusable    400     non-ASCII, control chars, > 1024
empty body, bad base64, bad JSON, non-UTF-8 text      400
decoded body larger than 6 MB (6,291,456 bytes)       413
SageMaker ``ModelError`` (container answered non-2xx) 502     ``modelStatus``, ``modelMessage``;
                                                              metric ``ModelErrors`` (container
                                                              5xx or no status) or
                                                              ``ModelClientErrors`` (4xx)
read or connect timeout                               504     metric ``ModelTimeouts``
throttling (``ThrottlingException``, HTTP 429)        429     ``Retry-After: 1``
``ModelNotReadyException`` (serverless warming up)    429     ``Retry-After: 5``
``ServiceUnavailable`` (503)                          503     ``Retry-After: 1``
endpoint not found (a ``ValidationError``)            503     endpoint missing: an outage
could not connect to the runtime at all               503     ``Retry-After: 1``
connection dropped mid-request, truncated response    502     the upstream misbehaved
other SageMaker ``ValidationError``                   400     details only in the log
SageMaker 5xx (``InternalFailure``, 530, ...)         502
model response too large for a Lambda response        502
anything else (access denied, bugs, ...)              500     details only in the log;
                                                              metric ``FrontendFailures``
====================================================  ======  ==================================

The handler counts ``FrontendFailures`` for every 500 it answers, whatever the cause (this
table's, a broken response, no runtime client, an exception of its own): the handler never
raises, so Lambda's ``Errors`` never see these, and a misconfigured new version (say, a role
that may not invoke its endpoint) would otherwise pass every rollback alarm. Only a function
whose environment lacks a required variable cannot count them: without settings it has no
``ModelName``/``ModelVersion`` to count them under.

Dropped connections answer 502 (the endpoint took the request and broke the exchange), while
"could not reach it" answers 503 (retrying later is the right reaction for a caller).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from .config import Settings, media_type

# SageMaker's InvokeEndpoint payload limit: 6 MB, the `max` of `Body` in botocore's model.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Longest base64 text that can decode to at most MAX_PAYLOAD_BYTES.
MAX_BASE64_CHARS = 4 * ((MAX_PAYLOAD_BYTES + 2) // 3)
# Accept, Content-Type and custom attributes: at most 1024 ASCII characters (service model).
MAX_HEADER_CHARS = 1024
# Lambda's synchronous response limit is 6 MB for the whole JSON document: keep room for it.
MAX_RESPONSE_BODY_CHARS = 6_000_000
MAX_MODEL_MESSAGE_CHARS = 512
MAX_REQUEST_ID_CHARS = 128

MODEL_ERRORS = "ModelErrors"
# The container answered 4xx: the caller's input was bad. Counted for dashboards, never a
# reason to roll a model back (no rollback alarm watches it).
MODEL_CLIENT_ERRORS = "ModelClientErrors"
MODEL_TIMEOUTS = "ModelTimeouts"
FRONTEND_FAILURES = "FrontendFailures"  # every 500 answered; emitted by the handler

_CONTENT_TYPE = "content-type"
_ACCEPT = "accept"
_CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"
_WANTED_HEADERS = frozenset((_CONTENT_TYPE, _ACCEPT, _CUSTOM_ATTRIBUTES))
_HEADER_TITLES = {
    _CONTENT_TYPE: "Content-Type",
    _ACCEPT: "Accept",
    _CUSTOM_ATTRIBUTES: "X-Amzn-SageMaker-Custom-Attributes",
}

# The API's binary media types follow the same rule (safe_sagemaker.api_rules); a test holds
# the two together.
_TEXT_MEDIA_TYPES = frozenset(
    (
        "application/json",
        "application/jsonlines",
        "application/x-ndjson",
        "application/xml",
        "application/csv",
        "application/x-www-form-urlencoded",
    )
)
_THROTTLING_CODES = frozenset(
    ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded")
)


class ApiError(Exception):
    """A failure that becomes an HTTP error response.

    ``details`` are added to the JSON body, ``headers`` to the response, ``metric`` names the
    CloudWatch metric to emit, ``answered`` says the endpoint took part (``x-sagemaker-endpoint``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, object] | None = None,
        metric: str | None = None,
        answered: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: Mapping[str, str] = headers or {}
        self.details: Mapping[str, object] = details or {}
        self.metric = metric
        self.answered = answered


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    """A validated request, ready for ``InvokeEndpoint``: the body stays raw bytes."""

    body: bytes
    content_type: str
    accept: str | None = None
    custom_attributes: str | None = None

    def invoke_kwargs(self, endpoint_name: str) -> dict[str, Any]:
        """Keyword arguments of ``client.invoke_endpoint``."""
        kwargs: dict[str, Any] = {
            "EndpointName": endpoint_name,
            "Body": self.body,
            "ContentType": self.content_type,
        }
        if self.accept is not None:
            kwargs["Accept"] = self.accept
        if self.custom_attributes is not None:
            kwargs["CustomAttributes"] = self.custom_attributes
        return kwargs


def _malformed(what: str) -> ApiError:
    return ApiError(400, f"malformed request: {what}")


def _usable_header_value(value: str) -> bool:
    # SageMaker takes at most 1024 ASCII characters; control characters (CR, LF, NUL, ...)
    # could not even be sent as an HTTP header.
    return len(value) <= MAX_HEADER_CHARS and value.isascii() and value.isprintable()


def _remember(found: dict[str, str], key: str, value: str) -> None:
    previous = found.get(key)
    if previous is not None and previous != value:
        raise ApiError(400, f"conflicting {_HEADER_TITLES[key]} headers")
    found[key] = value


def _select_headers_fast(
    headers: dict[Any, Any], multi_value_headers: dict[Any, Any] | None
) -> dict[str, str] | None:
    """The common case, without a Python loop over every header: no two header names differ
    only in case, and ``multiValueHeaders`` (if any) has the same names, each wanted header
    with exactly the value in ``headers``. ``None`` means "not that simple": the caller then
    looks at everything."""
    try:
        names = {name.lower(): name for name in headers}
    except AttributeError:  # a name that is not a string
        return None
    if len(names) != len(headers) or (
        multi_value_headers is not None and multi_value_headers.keys() != headers.keys()
    ):
        return None
    found: dict[str, str] = {}
    for key in _WANTED_HEADERS:
        name = names.get(key)
        if name is None:
            continue
        value = headers[name]
        if multi_value_headers is not None:
            values = multi_value_headers[name]
            if not (type(values) is list and len(values) == 1 and values[0] == value):
                return None
        if isinstance(value, str):
            found[key] = value
    return found


def select_headers(headers: object, multi_value_headers: object) -> dict[str, str]:
    """The three headers this function reads, by lowercase name, from a REST (v1) event.

    Header names may come in any case; ``multiValueHeaders`` may repeat ``headers``. Two
    different values for the same header are refused rather than guessed between. Values that
    are not strings are ignored.
    """
    if isinstance(headers, dict) and (
        multi_value_headers is None or isinstance(multi_value_headers, dict)
    ):
        fast = _select_headers_fast(headers, multi_value_headers)
        if fast is not None:
            return fast
    return select_headers_exhaustive(headers, multi_value_headers)


def select_headers_exhaustive(headers: object, multi_value_headers: object) -> dict[str, str]:
    """``select_headers`` by looking at every header (the reference for the fast path)."""
    found: dict[str, str] = {}
    if isinstance(headers, dict):
        for name, value in headers.items():
            if isinstance(name, str) and isinstance(value, str):
                key = name.lower()
                if key in _WANTED_HEADERS:
                    _remember(found, key, value)
    elif headers is not None:
        raise _malformed("headers must be an object")
    if isinstance(multi_value_headers, dict):
        for name, values in multi_value_headers.items():
            if isinstance(name, str) and isinstance(values, list):
                key = name.lower()
                if key in _WANTED_HEADERS:
                    for value in values:
                        if isinstance(value, str):
                            _remember(found, key, value)
    elif multi_value_headers is not None:
        raise _malformed("multiValueHeaders must be an object")
    return found


def _check_model(path_parameters: object, settings: Settings) -> None:
    if path_parameters is None:
        return
    if not isinstance(path_parameters, dict):
        raise _malformed("pathParameters must be an object")
    model = path_parameters.get("model")
    if model is not None and model != settings.model_name:
        raise ApiError(404, "unknown model")


def _unsupported_media_type(settings: Settings) -> ApiError:
    allowed = ", ".join(sorted(settings.allowed_content_types))
    return ApiError(415, f"unsupported media type; allowed: {allowed}")


def _decode_body(event: dict[Any, Any]) -> tuple[bytes, str | None]:
    """The request body as bytes (and as text when API Gateway sent it as text)."""
    body = event.get("body")
    if body is None or body == "":
        raise ApiError(400, "request body is empty")
    if not isinstance(body, str):
        raise _malformed("body must be a string")
    is_base64 = event.get("isBase64Encoded")
    if is_base64 is True:
        if len(body) > MAX_BASE64_CHARS:
            raise ApiError(413, "request body exceeds the 6 MB limit")
        try:
            return base64.b64decode(body, validate=True), None
        except (binascii.Error, ValueError):
            raise ApiError(400, "request body is not valid base64") from None
    if is_base64 is not None and is_base64 is not False:
        raise _malformed("isBase64Encoded must be a boolean")
    if len(body) > MAX_PAYLOAD_BYTES:  # every character is at least one byte
        raise ApiError(413, "request body exceeds the 6 MB limit")
    try:
        return body.encode("utf-8"), body
    except UnicodeEncodeError:  # lone surrogates
        raise ApiError(400, "request body is not valid UTF-8 text") from None


def _check_content(raw: bytes, text: str | None, mtype: str) -> None:
    if mtype == "application/json" or mtype.endswith("+json"):
        try:
            json.loads(text if text is not None else raw.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise ApiError(400, "request body is not valid JSON") from None
    elif text is None and mtype.startswith("text/"):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "request body is not valid UTF-8 text") from None


def parse_request(event: object, settings: Settings) -> InvokeRequest:
    """Validate an API Gateway REST (v1) proxy event; raise ``ApiError`` (4xx) if unusable."""
    if not isinstance(event, dict):
        raise _malformed("not an API Gateway proxy event")
    method = event.get("httpMethod")
    if not isinstance(method, str):
        raise _malformed("no HTTP method")
    if method != "POST":
        raise ApiError(405, "method not allowed; use POST", headers={"Allow": "POST"})
    _check_model(event.get("pathParameters"), settings)

    headers = select_headers(event.get("headers"), event.get("multiValueHeaders"))
    content_type = headers.get(_CONTENT_TYPE)
    if content_type is None:
        raise _unsupported_media_type(settings)
    content_type = content_type.strip()
    if not _usable_header_value(content_type):
        raise ApiError(400, "invalid Content-Type header")
    mtype = media_type(content_type)
    if mtype not in settings.allowed_content_types:
        raise _unsupported_media_type(settings)
    accept = headers.get(_ACCEPT)
    if accept is not None and not _usable_header_value(accept):
        raise ApiError(400, "invalid Accept header")
    custom_attributes = headers.get(_CUSTOM_ATTRIBUTES)
    if custom_attributes is not None and not _usable_header_value(custom_attributes):
        raise ApiError(400, "invalid X-Amzn-SageMaker-Custom-Attributes header")

    raw, text = _decode_body(event)
    if not raw:
        raise ApiError(400, "request body is empty")
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ApiError(413, "request body exceeds the 6 MB limit")
    _check_content(raw, text, mtype)
    return InvokeRequest(
        body=raw, content_type=content_type, accept=accept, custom_attributes=custom_attributes
    )


def _usable_request_id(value: object) -> str | None:
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_REQUEST_ID_CHARS
        and value.isascii()
        and value.isprintable()
    ):
        return value
    return None


def request_id_of(event: object, fallback: object) -> str:
    """API Gateway's ``requestContext.requestId``, else the Lambda request id."""
    if isinstance(event, dict):
        context = event.get("requestContext")
        if isinstance(context, dict):
            request_id = _usable_request_id(context.get("requestId"))
            if request_id is not None:
                return request_id
    return _usable_request_id(fallback) or "unknown"


@lru_cache(maxsize=64)
def is_textual(content_type: str) -> bool:
    """Whether a model's content type is text (sent as is) rather than binary (base64)."""
    mtype = media_type(content_type)
    return (
        mtype.startswith("text/")
        or mtype in _TEXT_MEDIA_TYPES
        or mtype.endswith(("+json", "+xml"))
        or "charset=" in content_type.lower()
    )


def _base_headers(settings: Settings, request_id: str) -> dict[str, str]:
    return {"x-model-version": settings.model_version, "x-request-id": request_id}


def success_response(
    result: Mapping[str, Any], body: bytes, settings: Settings, request_id: str
) -> dict[str, Any]:
    """The API Gateway response for an ``InvokeEndpoint`` result whose body has been read."""
    content_type = result.get("ContentType") or "application/octet-stream"
    headers = _base_headers(settings, request_id)
    headers["Content-Type"] = content_type
    headers["x-sagemaker-endpoint"] = settings.endpoint_name
    variant = result.get("InvokedProductionVariant")
    if variant:
        headers["x-sagemaker-variant"] = variant
    custom_attributes = result.get("CustomAttributes")
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    text: str | None = None
    if is_textual(content_type):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    is_base64 = text is None
    if text is None:
        text = base64.b64encode(body).decode("ascii")
    if len(text) > MAX_RESPONSE_BODY_CHARS:
        raise ApiError(502, "the model response is too large to return", answered=True)
    return {"statusCode": 200, "headers": headers, "body": text, "isBase64Encoded": is_base64}


def error_response(error: ApiError, settings: Settings | None, request_id: str) -> dict[str, Any]:
    """The JSON error response for ``error``."""
    payload: dict[str, object] = {"message": error.message, "requestId": request_id}
    payload.update(error.details)
    if settings is not None:
        headers = _base_headers(settings, request_id)
        if error.answered:
            headers["x-sagemaker-endpoint"] = settings.endpoint_name
    else:
        headers = {"x-request-id": request_id}
    headers["Content-Type"] = "application/json"
    headers.update(error.headers)
    return {
        "statusCode": error.status,
        "headers": headers,
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def _truncate(text: str, limit: int = MAX_MODEL_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 15] + "...(truncated)"


def _model_error(response: Mapping[str, Any]) -> ApiError:
    original_status = response.get("OriginalStatusCode")
    original_message = response.get("OriginalMessage")
    details: dict[str, object] = {
        "modelStatus": original_status if isinstance(original_status, int) else None,
        "modelMessage": _truncate(original_message) if isinstance(original_message, str) else None,
    }
    caller_fault = isinstance(original_status, int) and 400 <= original_status < 500
    metric = MODEL_CLIENT_ERRORS if caller_fault else MODEL_ERRORS
    return ApiError(
        502, "the model returned an error", details=details, metric=metric, answered=True
    )


_THROTTLED = (429, "too many requests; retry later", "1")
_UNAVAILABLE = (503, "the model endpoint is unavailable", "1")
_NOT_READY = (429, "the model is not ready; retry later", "5")


def _classify_client_error(exc: ClientError) -> ApiError:
    response: Mapping[str, Any] = exc.response
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    if code == "ModelError":
        return _model_error(response)
    if code == "ValidationError" and "not found" in str(error.get("Message") or "").lower():
        # "Endpoint x of account y not found.": the endpoint is gone, an outage (not the
        # caller's fault), and the message names the account, so it stays in the log.
        return ApiError(503, "the model endpoint is unavailable")
    spec: tuple[int, str, str | None]
    if code == "ModelNotReadyException":
        spec = _NOT_READY
    elif code in _THROTTLING_CODES or status == 429:
        spec = _THROTTLED
    elif code == "ValidationError":
        spec = (400, "the model endpoint rejected the request", None)
    elif code == "ServiceUnavailable" or status == 503:
        spec = _UNAVAILABLE
    elif isinstance(status, int) and status >= 500:
        spec = (502, "the model endpoint failed", None)
    else:  # access denied, bad credentials, ...: our misconfiguration, must page somebody
        return ApiError(500, "internal error")
    status_out, message, retry_after = spec
    headers = {"Retry-After": retry_after} if retry_after else None
    return ApiError(status_out, message, headers=headers, answered=True)


def classify_invoke_error(exc: BaseException) -> ApiError:
    """Map an exception raised by ``invoke_endpoint`` (or reading its body) to a response."""
    if isinstance(exc, ClientError):
        return _classify_client_error(exc)
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return ApiError(504, "the model endpoint timed out", metric=MODEL_TIMEOUTS)
    if isinstance(exc, EndpointConnectionError):
        return ApiError(503, "the model endpoint is unavailable", headers={"Retry-After": "1"})
    if isinstance(exc, (HTTPClientError, BotocoreConnectionError, IncompleteReadError)):
        return ApiError(502, "the connection to the model endpoint failed")
    return ApiError(500, "internal error")


def loggable_body(body: bytes, limit: int = 4096) -> str:
    """The start of a request body for the log (only when LOG_REQUEST_BODY is "true")."""
    head = body[:limit]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(head).decode("ascii")
