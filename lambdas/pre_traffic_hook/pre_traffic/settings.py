"""The pre-traffic hook's settings: its environment variables, validated at each run."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployment_hooks_common import ConfigError
from deployment_hooks_common.continuation import DEFAULT_MAX_HOOK_SECONDS, MIN_ROUND_SECONDS
from deployment_hooks_common.settings import (
    Env,
    float_or_default,
    json_value,
    optional_int,
    require_str,
)

DEFAULT_CAPACITY_POLL_SECONDS = 20.0
HTTP_STATUSES = range(100, 600)


@dataclass(frozen=True)
class CapacityLimits:
    min_capacity: int
    max_capacity: int


_SAMPLE_KEYS = frozenset(
    {
        "contentType",
        "body",
        "bodyBase64",
        "accept",
        "expectStatus",
        "expectContentType",
        "expectJsonKeys",
    }
)


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value


@dataclass(frozen=True)
class SampleRequest:
    """One entry of ``SAMPLE_REQUESTS`` and what its answer must look like."""

    content_type: str
    body: str
    body_base64: bool = False
    accept: str | None = None
    expect_status: int = 200
    expect_content_type: str | None = None
    expect_json_keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, index: int, raw: Any) -> SampleRequest:
        where = f"SAMPLE_REQUESTS[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be an object")
        unknown = sorted(set(raw) - _SAMPLE_KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown keys {unknown}; allowed: {sorted(_SAMPLE_KEYS)}"
            )
        content_type = _optional_str(raw, "contentType", where)
        if content_type is None:
            raise ConfigError(f"{where}.contentType is required")
        body = raw.get("body")
        if not isinstance(body, str):
            raise ConfigError(f"{where}.body must be a string")
        body_base64 = raw.get("bodyBase64", False)
        if not isinstance(body_base64, bool):
            raise ConfigError(f"{where}.bodyBase64 must be true or false")
        if body_base64:
            try:
                base64.b64decode(body, validate=True)
            except binascii.Error:
                raise ConfigError(f"{where}.body is not valid base64") from None
        expect_status = raw.get("expectStatus", 200)
        if isinstance(expect_status, bool) or not isinstance(expect_status, int):
            raise ConfigError(f"{where}.expectStatus must be an integer")
        if expect_status not in HTTP_STATUSES:
            raise ConfigError(f"{where}.expectStatus must be an HTTP status, got {expect_status}")
        keys = raw.get("expectJsonKeys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise ConfigError(f"{where}.expectJsonKeys must be a list of non-empty strings")
        return cls(
            content_type=content_type,
            body=body,
            body_base64=body_base64,
            accept=_optional_str(raw, "accept", where),
            expect_status=expect_status,
            expect_content_type=_optional_str(raw, "expectContentType", where),
            expect_json_keys=tuple(keys),
        )


@dataclass(frozen=True)
class Settings:
    variant_name: str
    capacity: CapacityLimits | None
    samples: tuple[SampleRequest, ...]
    capacity_poll_seconds: float
    max_hook_seconds: float = DEFAULT_MAX_HOOK_SECONDS

    @classmethod
    def from_env(cls, env: Env) -> Settings:
        min_capacity = optional_int(env, "AUTOSCALING_MIN_CAPACITY", minimum=0)
        max_capacity = optional_int(env, "AUTOSCALING_MAX_CAPACITY", minimum=1)
        capacity: CapacityLimits | None = None
        if (min_capacity is None) != (max_capacity is None):
            raise ConfigError(
                "AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY must be set together"
            )
        if min_capacity is not None and max_capacity is not None:
            if max_capacity < min_capacity:
                raise ConfigError(
                    f"AUTOSCALING_MAX_CAPACITY ({max_capacity}) is below "
                    f"AUTOSCALING_MIN_CAPACITY ({min_capacity})"
                )
            capacity = CapacityLimits(min_capacity=min_capacity, max_capacity=max_capacity)

        raw_samples = json_value(env, "SAMPLE_REQUESTS")
        if not isinstance(raw_samples, list) or not raw_samples:
            raise ConfigError("SAMPLE_REQUESTS must be a non-empty JSON list")
        return cls(
            variant_name=require_str(env, "VARIANT_NAME"),
            capacity=capacity,
            samples=tuple(SampleRequest.parse(i, raw) for i, raw in enumerate(raw_samples)),
            capacity_poll_seconds=float_or_default(
                env, "CAPACITY_POLL_SECONDS", DEFAULT_CAPACITY_POLL_SECONDS, minimum=1.0
            ),
            max_hook_seconds=float_or_default(
                env, "MAX_HOOK_SECONDS", DEFAULT_MAX_HOOK_SECONDS, minimum=MIN_ROUND_SECONDS
            ),
        )
