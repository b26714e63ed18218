"""Fuzzing: 10,000 generated bad requests through the real handler.

Each example starts from a valid REST (v1) proxy event (random body for a random allowed
content type, random extra headers, header names in random case, with or without
``multiValueHeaders``) and breaks exactly one thing. Whatever it is, the handler must answer a
4xx with a JSON body carrying ``message`` and ``requestId``, raise nothing, and never call the
endpoint (the stub client records any call).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.frontend import ALLOWED_CONTENT_TYPES, MODEL_NAME, StubClient, rest_event

pytestmark = pytest.mark.slow

ALLOWED = ALLOWED_CONTENT_TYPES.split(",")
WANTED = ("content-type", "accept", "x-amzn-sagemaker-custom-attributes")
SIX_MB = 6 * 1024 * 1024
MAX_BASE64 = 4 * ((SIX_MB + 2) // 3)
# Huge bodies are built once and shared: the handler must reject them without copying.
HUGE_TEXT = "7" * (SIX_MB + 1)
HUGE_MULTIBYTE_TEXT = "\u00e9" * (SIX_MB // 2 + 1)  # fewer characters than bytes
HUGE_BASE64 = "QUJD" * (MAX_BASE64 // 4 + 1)

Event = dict[str, Any]
Case = tuple[object, frozenset[int]]

# Pools of valid parts, built once: drawing from them keeps generation cheap (each draw of a
# composite strategy costs Hypothesis real time, and 10,000 examples must take seconds).
VALID_BODIES: dict[str, list[str | bytes]] = {
    "application/json": [
        '{"features": [1.5, 2.0, 3.25]}',
        "[]",
        "0",
        '"text"',
        '{"nested": {"a": [true, false, null]}, "e": "\u00e9"}',
        "[" * 200 + "]" * 200,
    ],
    "text/csv": ["1,2,3", "1.5,abc,\u00e9\n2,3,4\n", "x", "a;b;c\r\n"],
    "application/x-npy": [b"\x93NUMPY\x01\x00v\x00", b"\x00", bytes(range(256))],
    "image/jpeg": [b"\xff\xd8\xff\xe0\x00\x10JFIF", b"\xff" * 100],
}
EXTRA_HEADERS: list[dict[str, str]] = [
    {},
    {"X-Custom": "1"},
    {"Authorization": "AWS4-HMAC-SHA256 Credential=...", "X-Amz-Date": "20260101T000000Z"},
    {"Cookie": "a=b; c=d", "Referer": "https://example.com/", "Origin": "null"},
    {"X-Weird-\u00e9": "\u00e9\x00\r\n", "": ""},
]


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Every strategy is built once, at import: strategies created inside a composite on each draw
# make Hypothesis recompute their properties every time. And the valid starting point is ONE
# integer draw decoded into its parts: each draw costs Hypothesis time, and 10,000 examples must
# take seconds, not minutes.
BODIES = [(media, body) for media in ALLOWED for body in VALID_BODIES[media]]
CONTENT_TYPE_VARIANTS: list[Callable[[str], str]] = [
    str,
    str.upper,
    lambda media: f"{media}; charset=utf-8",
]
ACCEPTS = [None, "application/json", "*/*", "text/csv"]
CUSTOM_ATTRIBUTES = [None, "trace=1"]
CASINGS: list[Callable[[str], str]] = [str.lower, str.upper, str.title, str]
VARIANTS = 4  # base64 or text, with or without multiValueHeaders
COMBINATIONS = (
    VARIANTS
    * len(BODIES)
    * len(CONTENT_TYPE_VARIANTS)
    * len(ACCEPTS)
    * len(CUSTOM_ATTRIBUTES)
    * len(EXTRA_HEADERS)
    * len(CASINGS)
)
T = TypeVar("T")


def _pick(index: int, options: Sequence[T]) -> tuple[int, T]:
    index, position = divmod(index, len(options))
    return index, options[position]


def valid_event(index: int) -> Event:
    """The ``index``-th valid request (a mixed-radix decoding of ``index`` into its parts)."""
    index, variant = divmod(index, VARIANTS)
    index, (media, body) = _pick(index, BODIES)
    index, content_type = _pick(index, CONTENT_TYPE_VARIANTS)
    index, accept = _pick(index, ACCEPTS)
    index, custom_attributes = _pick(index, CUSTOM_ATTRIBUTES)
    index, extra_headers = _pick(index, EXTRA_HEADERS)
    index, case = _pick(index, CASINGS)
    if isinstance(body, str) and variant & 1:
        body = body.encode()  # API Gateway may base64 any type listed as binary
    event = rest_event(
        body,
        content_type=content_type(media),
        accept=accept,
        custom_attributes=custom_attributes,
        extra_headers=extra_headers,
    )
    event["headers"] = {case(name): value for name, value in event["headers"].items()}
    event["multiValueHeaders"] = (
        None if variant & 2 else {name: [value] for name, value in event["headers"].items()}
    )
    return event


VALID_EVENTS = st.integers(0, COMBINATIONS - 1).map(valid_event)
BOOLEANS = st.booleans()
casings = st.sampled_from(CASINGS)


def _set_header(event: Event, name: str, value: object) -> None:
    for key in [k for k in event["headers"] if k.lower() == name.lower()]:
        del event["headers"][key]
    if event["multiValueHeaders"]:
        for key in [k for k in event["multiValueHeaders"] if k.lower() == name.lower()]:
            del event["multiValueHeaders"][key]
    if value is not None:
        event["headers"][name] = value


NOT_EVENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=10), st.integers(), max_size=3),
)


@st.composite
def not_events(draw: st.DrawFn) -> Case:
    return draw(NOT_EVENTS), frozenset({400})


METHODS = st.one_of(
    st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", "Post", ""]),
    st.text(max_size=8).filter(lambda m: m != "POST"),
    st.none(),
    st.integers(),
)


@st.composite
def wrong_methods(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    method = draw(METHODS)
    event["httpMethod"] = method
    return event, frozenset({405} if isinstance(method, str) else {400})


BAD_CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "*/*",
            "application/*",
            "text/plain",
            "application/xml",
            "application/json2",
            "json",
            ";application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/csv\r\nX-Injected: 1",
            "application/json; charset=\u00e9",
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def bad_content_types(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    value = draw(BAD_CONTENT_TYPES)
    if value is not None and _media_type(value) in ALLOWED:
        value = "application/unknown"
    _set_header(event, draw(casings)("Content-Type"), value)
    return event, frozenset({400, 415})


EMPTY_BODIES = st.sampled_from([None, ""])
BASE64_FLAGS = st.sampled_from([True, False, None])


@st.composite
def empty_bodies(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    event["body"] = draw(EMPTY_BODIES)
    event["isBase64Encoded"] = draw(BASE64_FLAGS)
    if draw(BOOLEANS):
        del event["body"]
    return event, frozenset({400})


SHORT_BINARY = st.binary(min_size=1, max_size=30)
NOT_BASE64_TEXT = st.text(min_size=1, max_size=40).filter(lambda t: not _is_base64(t))
BASE64_DAMAGE: list[Callable[[str], str]] = [
    lambda good: good[:-1],
    lambda good: good + "\n",
    lambda good: " " + good,
    lambda good: good.rstrip("=") + "A",
    lambda good: good[:2] + "\u00e9" + good[2:],
    lambda good: good.replace("A", "-").replace("Q", "_") + "-_",
]
DAMAGE = st.sampled_from(BASE64_DAMAGE)


@st.composite
def bad_base64(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    if draw(BOOLEANS):
        body = draw(NOT_BASE64_TEXT)
    else:
        body = draw(DAMAGE)(base64.b64encode(draw(SHORT_BINARY)).decode())
    if _is_base64(body):
        body = body + "*"
    event["body"], event["isBase64Encoded"] = body, True
    return event, frozenset({400})


JSON_TYPES = st.sampled_from(["application/json", "Application/JSON; charset=utf-8"])
NOT_JSON_TEXT = st.text(min_size=1, max_size=60).filter(lambda t: not _is_json(t))
NOT_JSON_BYTES = st.one_of(
    st.binary(min_size=1, max_size=60).filter(
        lambda d: not _is_utf8(d) or not _is_json(d.decode())
    ),
    st.just(b"[" * 50_000),
    st.just('{"a": "\u00e9"}'.encode("utf-16")),
    st.just(b"\xef\xbb\xbf{}"),
)


@st.composite
def bad_json(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    _set_header(event, "Content-Type", draw(JSON_TYPES))
    if draw(BOOLEANS):
        event["body"], event["isBase64Encoded"] = draw(NOT_JSON_TEXT), False
    else:
        event["body"] = base64.b64encode(draw(NOT_JSON_BYTES)).decode()
        event["isBase64Encoded"] = True
    return event, frozenset({400})


CSV_TYPES = st.sampled_from(["text/csv", "TEXT/CSV; header=present"])
NOT_UTF8 = st.binary(min_size=1, max_size=60).filter(lambda d: not _is_utf8(d))
SHORT_TEXT = st.text(max_size=10)
SURROGATES = st.characters(categories=["Cs"])


@st.composite
def bad_text(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    _set_header(event, "Content-Type", draw(CSV_TYPES))
    if draw(BOOLEANS):
        event["body"] = base64.b64encode(draw(NOT_UTF8)).decode()
        event["isBase64Encoded"] = True
    else:  # a lone surrogate cannot be UTF-8 encoded
        event["body"] = draw(SHORT_TEXT) + draw(SURROGATES) + draw(SHORT_TEXT)
        event["isBase64Encoded"] = False
    return event, frozenset({400})


HUGE = st.sampled_from(["text", "multibyte", "base64"])


@st.composite
def huge_bodies(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    choice = draw(HUGE)
    if choice == "base64":
        event["body"], event["isBase64Encoded"] = HUGE_BASE64, True
    else:
        _set_header(event, "Content-Type", "text/csv")
        body = HUGE_TEXT if choice == "text" else HUGE_MULTIBYTE_TEXT
        event["body"], event["isBase64Encoded"] = body, False
    return event, frozenset({413})


BROKEN = st.sampled_from(
    [
        ("httpMethod", None),
        ("body", 42),
        ("body", b"{}"),
        ("body", ["a"]),
        ("body", {"a": 1}),
        ("headers", ["Content-Type", "application/json"]),
        ("headers", "Content-Type: application/json"),
        ("headers", 7),
        ("multiValueHeaders", "x"),
        ("multiValueHeaders", ["x"]),
        ("isBase64Encoded", "true"),
        ("isBase64Encoded", 1),
        ("isBase64Encoded", "false"),
        ("pathParameters", ["fraud-detector"]),
        ("pathParameters", "fraud-detector"),
        ("headers+multiValueHeaders", None),
    ]
)


@st.composite
def broken_fields(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    field, value = draw(BROKEN)
    if field == "headers+multiValueHeaders":
        event["headers"] = event["multiValueHeaders"] = None
        return event, frozenset({415})
    if value is None and draw(BOOLEANS):
        del event[field]
    else:
        event[field] = value
    return event, frozenset({400})


PASSTHROUGH = st.sampled_from(["Accept", "X-Amzn-SageMaker-Custom-Attributes"])
UNUSABLE_VALUES = st.one_of(
    st.text(min_size=1, max_size=20).filter(lambda v: not (v.isascii() and v.isprintable())),
    st.just("x" * 1025),
    st.just("application/json\r\nX-Injected: 1"),
)


@st.composite
def bad_passthrough_headers(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    _set_header(event, draw(casings)(draw(PASSTHROUGH)), draw(UNUSABLE_VALUES))
    return event, frozenset({400})


OTHER_MODELS = st.text(max_size=30).filter(lambda m: m != MODEL_NAME)


@st.composite
def other_models(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    event["pathParameters"] = {"model": draw(OTHER_MODELS)}
    return event, frozenset({404})


SECOND_TYPES = st.sampled_from(["text/csv", "image/jpeg"])


@st.composite
def conflicting_headers(draw: st.DrawFn) -> Case:
    event = draw(VALID_EVENTS)
    event["headers"]["Content-Type"] = "application/json"
    event["multiValueHeaders"] = {
        **(event["multiValueHeaders"] or {}),
        "content-type": ["application/json", draw(SECOND_TYPES)],
    }
    return event, frozenset({400})


bad_requests = st.one_of(
    not_events(),
    wrong_methods(),
    bad_content_types(),
    empty_bodies(),
    bad_base64(),
    bad_json(),
    bad_text(),
    huge_bodies(),
    broken_fields(),
    bad_passthrough_headers(),
    other_models(),
    conflicting_headers(),
)

EXAMPLES = int(os.environ.get("FRONTEND_FUZZ_EXAMPLES", "10000"))


def test_ten_thousand_bad_requests(
    frontend: ModuleType, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    client = StubClient()
    monkeypatch.setattr(frontend, "_client", client)
    seen: list[int] = []
    started = time.perf_counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=bad_requests)
    def check(case: Case) -> None:
        event, expected = case
        response = frontend.handler(event, context)  # raising here fails the test
        assert response["statusCode"] in expected, (response, event)
        assert response["headers"]["Content-Type"] == "application/json"
        assert response["isBase64Encoded"] is False
        payload = json.loads(response["body"])
        assert isinstance(payload["message"], str) and payload["message"]
        assert isinstance(payload["requestId"], str) and payload["requestId"]
        assert client.calls == [], "a bad request reached the endpoint"
        seen.append(response["statusCode"])

    check()
    elapsed = time.perf_counter() - started
    assert len(seen) >= EXAMPLES, len(seen)
    # Every kind of rejection was exercised.
    assert {400, 404, 405, 413, 415} <= set(seen)
    print(f"\n{len(seen)} bad requests fuzzed in {elapsed:.1f} s")
