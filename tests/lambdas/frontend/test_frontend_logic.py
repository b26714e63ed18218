"""Unit tests of the front end's pure logic: configuration, validation, errors, responses."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.frontend import ALLOWED_CONTENT_TYPES, FUNCTION_ENV, rest_event

SIX_MB = 6 * 1024 * 1024


# -- configuration --------------------------------------------------------------------------
def test_settings_from_the_cdk_environment(config: ModuleType) -> None:
    settings = config.Settings.from_env(FUNCTION_ENV)
    assert settings.endpoint_name == "fraud-detector-3f9a1c2b"
    assert settings.model_name == "fraud-detector"
    assert settings.model_version == "3f9a1c2b"
    assert settings.allowed_content_types == frozenset(ALLOWED_CONTENT_TYPES.split(","))
    assert settings.metrics_namespace == "SafeSageMakerEndpoints"
    assert settings.log_request_body is False


def test_settings_defaults(config: ModuleType) -> None:
    env = {"ENDPOINT_NAME": "e", "MODEL_NAME": "m", "MODEL_VERSION": "v"}
    settings = config.Settings.from_env(env)
    assert settings.allowed_content_types == {"application/json", "text/csv"}
    assert settings.metrics_namespace == "SafeSageMakerEndpoints"
    assert settings.log_request_body is False


def test_allowlist_is_normalised(config: ModuleType) -> None:
    env = {
        "ENDPOINT_NAME": "e",
        "MODEL_NAME": "m",
        "MODEL_VERSION": "v",
        "ALLOWED_CONTENT_TYPES": " Application/JSON ; charset=utf-8 ,, IMAGE/jpeg,",
        "LOG_REQUEST_BODY": "TRUE",
        "METRICS_NAMESPACE": "Custom",
    }
    settings = config.Settings.from_env(env)
    assert settings.allowed_content_types == {"application/json", "image/jpeg"}
    assert settings.log_request_body is True
    assert settings.metrics_namespace == "Custom"


@pytest.mark.parametrize("missing", ["ENDPOINT_NAME", "MODEL_NAME", "MODEL_VERSION"])
def test_required_settings(config: ModuleType, missing: str) -> None:
    env = {"ENDPOINT_NAME": "e", "MODEL_NAME": "m", "MODEL_VERSION": "v", missing: " "}
    with pytest.raises(config.ConfigError, match=missing):
        config.Settings.from_env(env)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("  text/CSV ;header=present", "text/csv"),
        ("", ""),
    ],
)
def test_media_type(config: ModuleType, value: str, expected: str) -> None:
    assert config.media_type(value) == expected


# -- request validation -----------------------------------------------------------------------
def test_json_request(logic: ModuleType, settings: Any) -> None:
    request = logic.parse_request(rest_event('{"a": [1, 2]}'), settings)
    assert request.body == b'{"a": [1, 2]}'  # raw bytes, never a parsed object
    assert request.content_type == "application/json"
    assert request.accept == "application/json"
    assert request.invoke_kwargs("ep") == {
        "EndpointName": "ep",
        "Body": b'{"a": [1, 2]}',
        "ContentType": "application/json",
        "Accept": "application/json",
    }


def test_content_type_is_matched_without_case_and_parameters(
    logic: ModuleType, settings: Any
) -> None:
    event = rest_event('{"a": 1}', content_type="Application/JSON; charset=UTF-8")
    request = logic.parse_request(event, settings)
    assert request.content_type == "Application/JSON; charset=UTF-8"  # forwarded as sent


def test_csv_and_unicode_text(logic: ModuleType, settings: Any) -> None:
    request = logic.parse_request(rest_event("1.0,é,3\n", content_type="text/csv"), settings)
    assert request.body == "1.0,é,3\n".encode()


def test_binary_request_is_decoded_from_base64(logic: ModuleType, settings: Any) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256))
    request = logic.parse_request(rest_event(jpeg, content_type="image/jpeg"), settings)
    assert request.body == jpeg
    assert request.content_type == "image/jpeg"


def test_base64_text_types_are_checked_after_decoding(logic: ModuleType, settings: Any) -> None:
    request = logic.parse_request(rest_event(b'{"x": 1}'), settings)
    assert request.body == b'{"x": 1}'


def test_headers_in_any_case_and_only_in_multi_value_headers(
    logic: ModuleType, settings: Any
) -> None:
    event = rest_event("1,2", content_type=None, accept=None)
    event["headers"] = None
    event["multiValueHeaders"] = {
        "CONTENT-TYPE": ["text/csv"],
        "accept": ["text/csv"],
        "x-amzn-sagemaker-custom-attributes": ["trace=abc"],
    }
    request = logic.parse_request(event, settings)
    assert (request.content_type, request.accept, request.custom_attributes) == (
        "text/csv",
        "text/csv",
        "trace=abc",
    )


def test_custom_attributes_pass_through(logic: ModuleType, settings: Any) -> None:
    event = rest_event(custom_attributes="c000b4f9-df62-4c85-a0bf-7c525f9104a4,trace=1")
    kwargs = logic.parse_request(event, settings).invoke_kwargs("ep")
    assert kwargs["CustomAttributes"] == "c000b4f9-df62-4c85-a0bf-7c525f9104a4,trace=1"


def test_body_of_exactly_six_mb_is_accepted(logic: ModuleType, settings: Any) -> None:
    body = b"\x00" * SIX_MB
    assert len(logic.parse_request(rest_event(body, content_type="image/jpeg"), settings).body) == (
        SIX_MB
    )
    text = "1" * SIX_MB
    assert len(logic.parse_request(rest_event(text, content_type="text/csv"), settings).body) == (
        SIX_MB
    )


def _rejected(logic: ModuleType, settings: Any, event: object) -> Any:
    with pytest.raises(logic.ApiError) as caught:
        logic.parse_request(event, settings)
    return caught.value


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "HEAD", "post", "PATCH"])
def test_wrong_method(logic: ModuleType, settings: Any, method: str) -> None:
    error = _rejected(logic, settings, rest_event(method=method))
    assert error.status == 405
    assert error.headers == {"Allow": "POST"}


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),
        ("", 415),
        ("application/xml", 415),
        ("image/png", 415),
        ("application/jsonx", 415),
        ("text/csv\r\nX-Evil: 1", 400),
        ("application/json; charset=\u00e9", 400),
        ("application/json;" + "x" * 1100, 400),
    ],
)
def test_bad_content_type(
    logic: ModuleType, settings: Any, content_type: str | None, status: int
) -> None:
    assert _rejected(logic, settings, rest_event(content_type=content_type)).status == status


def test_unsupported_media_type_message_lists_the_allowlist(
    logic: ModuleType, settings: Any
) -> None:
    error = _rejected(logic, settings, rest_event(content_type="application/xml"))
    assert error.message == (
        "unsupported media type; allowed: application/json, application/x-npy, image/jpeg, text/csv"
    )


@pytest.mark.parametrize(
    "case",
    [
        (None, "application/json", False, "request body is empty"),
        ("", "application/json", False, "request body is empty"),
        ("", "image/jpeg", True, "request body is empty"),
        ("not base64!", "image/jpeg", True, "request body is not valid base64"),
        ("QUJD\n", "image/jpeg", True, "request body is not valid base64"),
        ("QUJ", "image/jpeg", True, "request body is not valid base64"),
        ("é", "image/jpeg", True, "request body is not valid base64"),
        ("{", "application/json", False, "request body is not valid JSON"),
        ("", "application/json", None, "request body is empty"),
        ("[" * 100_000, "application/json", False, "request body is not valid JSON"),
        ("\ufeff{}", "application/json", False, "request body is not valid JSON"),
        (base64.b64encode(b"\xff\xfe{").decode(), "application/json", True, "not valid JSON"),
        (base64.b64encode(b"a,\xff").decode(), "text/csv", True, "not valid UTF-8"),
        ("a,\ud800", "text/csv", False, "not valid UTF-8"),
    ],
)
def test_bad_body(
    logic: ModuleType, settings: Any, case: tuple[str | None, str, bool | None, str]
) -> None:
    body, content_type, is_base64, message = case
    event = rest_event(None, content_type=content_type)
    event["body"] = body
    event["isBase64Encoded"] = is_base64
    error = _rejected(logic, settings, event)
    assert error.status == 400
    assert message in error.message


@pytest.mark.parametrize(
    "event",
    [
        rest_event(b"\x00" * (SIX_MB + 1), content_type="image/jpeg"),
        rest_event("1" * (SIX_MB + 1), content_type="text/csv"),
        rest_event("é" * (SIX_MB // 2 + 1), content_type="text/csv"),  # 2 bytes per character
        rest_event("A" * 9_000_000, content_type="image/jpeg", base64_encoded=True),
    ],
    ids=["binary", "text", "multibyte-text", "base64-not-even-decoded"],
)
def test_too_large(logic: ModuleType, settings: Any, event: dict[str, Any]) -> None:
    error = _rejected(logic, settings, event)
    assert error.status == 413


def _event_with(**changes: Any) -> dict[str, Any]:
    event = rest_event()
    event.update(changes)
    return event


MALFORMED_EVENTS: dict[str, object] = {
    "none": None,
    "list": [],
    "str": "POST",
    "empty": {},
    "method-none": _event_with(httpMethod=None),
    "method-int": _event_with(httpMethod=7),
    "headers-list": _event_with(headers=["Content-Type", "application/json"]),
    "multi-str": _event_with(multiValueHeaders="Content-Type"),
    "body-bytes": _event_with(body=b"{}"),
    "body-int": _event_with(body=42),
    "base64-flag-str": _event_with(isBase64Encoded="false"),
    "path-parameters-list": _event_with(pathParameters=["fraud-detector"]),
}


@pytest.mark.parametrize("event", MALFORMED_EVENTS.values(), ids=MALFORMED_EVENTS.keys())
def test_malformed_events(logic: ModuleType, settings: Any, event: object) -> None:
    assert _rejected(logic, settings, event).status == 400


def test_other_model_is_not_found(logic: ModuleType, settings: Any) -> None:
    assert _rejected(logic, settings, rest_event(model="other-model")).status == 404


def test_route_without_path_parameters(logic: ModuleType, settings: Any) -> None:
    event = _event_with(pathParameters=None)
    assert logic.parse_request(event, settings).body


def test_conflicting_content_types(logic: ModuleType, settings: Any) -> None:
    event = rest_event()
    event["multiValueHeaders"]["Content-Type"] = ["application/json", "text/csv"]
    error = _rejected(logic, settings, event)
    assert (error.status, error.message) == (400, "conflicting Content-Type headers")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Accept", "application/json\nX: y"),
        ("Accept", "x" * 1025),
        ("X-Amzn-SageMaker-Custom-Attributes", "caf\u00e9"),
        ("X-Amzn-SageMaker-Custom-Attributes", "a\x00b"),
    ],
)
def test_unusable_passthrough_headers(
    logic: ModuleType, settings: Any, header: str, value: str
) -> None:
    event = rest_event(accept=None, extra_headers={header: value})
    assert _rejected(logic, settings, event).status == 400


HEADER_NAMES = st.sampled_from(
    [
        "Content-Type",
        "content-type",
        "CONTENT-TYPE",
        "Accept",
        "accept",
        "X-Amzn-SageMaker-Custom-Attributes",
        "x-amzn-sagemaker-custom-attributes",
        "Host",
        "X-Other",
    ]
)
HEADER_VALUES = st.one_of(
    st.sampled_from(["application/json", "text/csv", "a=1", ""]), st.none(), st.integers(0, 2)
)
HEADER_MAPS = st.dictionaries(HEADER_NAMES | st.integers(0, 2), HEADER_VALUES, max_size=6)
MULTI_MAPS = st.none() | st.dictionaries(
    HEADER_NAMES, st.lists(HEADER_VALUES, max_size=3) | HEADER_VALUES, max_size=6
)


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(headers=st.none() | HEADER_MAPS, multi=MULTI_MAPS, mirror=st.booleans())
def test_fast_header_selection_agrees_with_the_exhaustive_one(
    logic: ModuleType, headers: dict[Any, Any] | None, multi: Any, mirror: bool
) -> None:
    if mirror and headers is not None:  # the shape API Gateway sends
        multi = {name: [value] for name, value in headers.items()}

    def outcome(select: Any) -> object:
        try:
            return select(headers, multi)
        except logic.ApiError as error:
            return (error.status, error.message)

    assert outcome(logic.select_headers) == outcome(logic.select_headers_exhaustive)


def test_non_string_header_values_are_ignored(logic: ModuleType, settings: Any) -> None:
    event = rest_event(accept=None)
    event["headers"]["Accept"] = None
    event["multiValueHeaders"]["Accept"] = [None, 3]
    assert logic.parse_request(event, settings).accept is None


# -- request id -------------------------------------------------------------------------------
def test_request_id(logic: ModuleType) -> None:
    event = rest_event(request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    assert logic.request_id_of(event, "lambda-id") == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert logic.request_id_of({"requestContext": {}}, "lambda-id") == "lambda-id"
    assert logic.request_id_of({"requestContext": {"requestId": "a\r\nb"}}, "x") == "x"
    assert logic.request_id_of([], None) == "unknown"
    assert logic.request_id_of(None, 12) == "unknown"


# -- responses --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "textual"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/csv", True),
        ("application/jsonlines", True),
        ("application/vnd.api+json", True),
        ("application/octet-stream; charset=utf-8", True),
        ("application/x-npy", False),
        ("image/jpeg", False),
        ("application/octet-stream", False),
        ("application/x-recordio-protobuf", False),
    ],
)
def test_is_textual(logic: ModuleType, content_type: str, textual: bool) -> None:
    assert logic.is_textual(content_type) is textual


def test_text_response(logic: ModuleType, settings: Any) -> None:
    result = {"ContentType": "application/json", "InvokedProductionVariant": "AllTraffic"}
    response = logic.success_response(result, '{"score": "é"}'.encode(), settings, "rid-1")
    assert response == {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "x-sagemaker-endpoint": "fraud-detector-3f9a1c2b",
            "x-model-version": "3f9a1c2b",
            "x-request-id": "rid-1",
            "x-sagemaker-variant": "AllTraffic",
        },
        "body": '{"score": "é"}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-npy", b"\x93NUMPY\x01\x00"),
        ("text/csv", b"\xff\xfe"),  # says text, is not UTF-8
        (None, b"abc"),
    ],
)
def test_binary_response(
    logic: ModuleType, settings: Any, content_type: str | None, body: bytes
) -> None:
    result = {"ContentType": content_type, "CustomAttributes": "attr=1"}
    response = logic.success_response(result, body, settings, "rid")
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == body
    assert response["headers"]["Content-Type"] == (content_type or "application/octet-stream")
    assert response["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "attr=1"


def test_response_too_large_for_lambda(logic: ModuleType, settings: Any) -> None:
    with pytest.raises(logic.ApiError) as caught:
        logic.success_response({"ContentType": "image/jpeg"}, b"\x00" * 5_000_000, settings, "r")
    assert caught.value.status == 502


def test_error_response(logic: ModuleType, settings: Any) -> None:
    error = logic.ApiError(
        429, "too many requests; retry later", headers={"Retry-After": "1"}, answered=True
    )
    response = logic.error_response(error, settings, "rid-9")
    assert response["statusCode"] == 429
    assert response["isBase64Encoded"] is False
    assert response["headers"] == {
        "Content-Type": "application/json",
        "Retry-After": "1",
        "x-model-version": "3f9a1c2b",
        "x-request-id": "rid-9",
        "x-sagemaker-endpoint": "fraud-detector-3f9a1c2b",
    }
    assert json.loads(response["body"]) == {
        "message": "too many requests; retry later",
        "requestId": "rid-9",
    }


def test_error_response_without_settings(logic: ModuleType) -> None:
    response = logic.error_response(logic.ApiError(500, "function misconfigured"), None, "r")
    assert response["headers"] == {"Content-Type": "application/json", "x-request-id": "r"}
    assert json.loads(response["body"]) == {"message": "function misconfigured", "requestId": "r"}


# -- error classification ---------------------------------------------------------------------
def client_error(code: str, status: int, message: str = "m", **fields: Any) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "x"},
        **fields,
    }
    return ClientError(response, "InvokeEndpoint")


URL = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/invocations"


@pytest.mark.parametrize(
    ("exc", "status", "retry_after", "metric"),
    [
        (client_error("ThrottlingException", 400, "Rate exceeded"), 429, "1", None),
        (client_error("ThrottlingException", 429), 429, "1", None),
        (client_error("SomethingNew", 429), 429, "1", None),
        (client_error("ModelNotReadyException", 429), 429, "5", None),
        (client_error("ValidationError", 400, "Received invalid input"), 400, None, None),
        (
            client_error("ValidationError", 400, "Endpoint e of account 123 not found."),
            503,
            None,
            None,
        ),
        (client_error("ServiceUnavailable", 503), 503, "1", None),
        (client_error("InternalFailure", 500), 502, None, None),
        (client_error("InternalDependencyException", 530), 502, None, None),
        (client_error("AccessDeniedException", 400), 500, None, None),
        (client_error("ExpiredTokenException", 403), 500, None, None),
        (ReadTimeoutError(endpoint_url=URL), 504, None, "ModelTimeouts"),
        (ConnectTimeoutError(endpoint_url=URL), 504, None, "ModelTimeouts"),
        (EndpointConnectionError(endpoint_url=URL), 503, "1", None),
        (ConnectionClosedError(endpoint_url=URL), 502, None, None),
        (ResponseStreamingError(error="reset"), 502, None, None),
        (IncompleteReadError(actual_bytes=1, expected_bytes=2), 502, None, None),
        (NoCredentialsError(), 500, None, None),
        (ValueError("bug"), 500, None, None),
        (KeyError("Body"), 500, None, None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else repr(value),
)
def test_classify(
    logic: ModuleType,
    exc: BaseException,
    status: int,
    retry_after: str | None,
    metric: str | None,
) -> None:
    error = logic.classify_invoke_error(exc)
    assert error.status == status
    assert error.headers.get("Retry-After") == retry_after
    assert error.metric == metric
    assert "account" not in error.message and "123" not in error.message


def test_model_error_carries_the_models_status_and_message(logic: ModuleType) -> None:
    exc = client_error(
        "ModelError",
        424,
        "Received client error (400) from primary with message ...",
        OriginalStatusCode=400,
        OriginalMessage="feature 'amount' is missing",
        LogStreamArn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/e",
    )
    error = logic.classify_invoke_error(exc)
    # The caller's bad input: counted apart from ModelErrors, which a rollback alarm watches.
    assert (error.status, error.metric, error.answered) == (502, "ModelClientErrors", True)
    assert error.details == {"modelStatus": 400, "modelMessage": "feature 'amount' is missing"}


@pytest.mark.parametrize(
    ("original_status", "metric"),
    [
        (500, "ModelErrors"),
        (503, "ModelErrors"),
        (None, "ModelErrors"),
        (404, "ModelClientErrors"),
        (429, "ModelClientErrors"),
    ],
)
def test_only_server_side_model_errors_count_as_model_errors(
    logic: ModuleType, original_status: int | None, metric: str
) -> None:
    extra = {} if original_status is None else {"OriginalStatusCode": original_status}
    exc = client_error("ModelError", 424, "Received error from primary", **extra)
    assert logic.classify_invoke_error(exc).metric == metric


def test_model_message_is_truncated(logic: ModuleType) -> None:
    exc = client_error("ModelError", 424, OriginalStatusCode=500, OriginalMessage="x" * 100_000)
    message = logic.classify_invoke_error(exc).details["modelMessage"]
    assert len(message) <= 512
    assert message.endswith("...(truncated)")


def test_model_error_without_details(logic: ModuleType) -> None:
    error = logic.classify_invoke_error(client_error("ModelError", 424))
    assert error.details == {"modelStatus": None, "modelMessage": None}


def test_loggable_body(logic: ModuleType) -> None:
    assert logic.loggable_body(b"a,b") == "a,b"
    assert logic.loggable_body(b"\xff\x00") == "base64:/wA="
    assert len(logic.loggable_body(b"x" * 10_000)) == 4096


def test_the_api_and_the_front_end_agree_on_which_bodies_are_text(logic: ModuleType) -> None:
    """The Lambda code ships alone, so the rule is written twice: the API registers as binary
    exactly the media types the front end base64-encodes (a text type called binary costs a
    round trip; a binary type called text corrupts the payload)."""
    from safe_sagemaker import api_rules

    listed = api_rules._TEXT_MEDIA_TYPES | logic._TEXT_MEDIA_TYPES
    others = {"text/csv", "application/vnd.api+json", "application/atom+xml", "image/jpeg"}
    others |= {"application/x-npy", "application/octet-stream", "application/x-protobuf"}
    for media_type in sorted(listed | others):
        assert api_rules.is_binary_media_type(media_type) == (not logic.is_textual(media_type)), (
            media_type
        )
