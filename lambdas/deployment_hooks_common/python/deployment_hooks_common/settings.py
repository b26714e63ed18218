"""Parsing of the hooks' environment variables, with messages that name the variable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deployment_hooks_common.errors import ConfigError

Env = Mapping[str, str]


def _raw(env: Env, name: str) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def require_str(env: Env, name: str) -> str:
    value = _raw(env, name)
    if value is None:
        raise ConfigError(f"environment variable {name} is required")
    return value


def optional_str(env: Env, name: str) -> str | None:
    return _raw(env, name)


def optional_int(env: Env, name: str, *, minimum: int = 0) -> int | None:
    value = _raw(env, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            f"environment variable {name} must be an integer, got {value!r}"
        ) from None
    if number < minimum:
        raise ConfigError(f"environment variable {name} must be >= {minimum}, got {number}")
    return number


def int_or_default(env: Env, name: str, default: int, *, minimum: int = 0) -> int:
    value = optional_int(env, name, minimum=minimum)
    return default if value is None else value


def float_or_default(env: Env, name: str, default: float, *, minimum: float = 0.0) -> float:
    value = _raw(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be a number, got {value!r}") from None
    if not number >= minimum:  # also rejects NaN
        raise ConfigError(f"environment variable {name} must be >= {minimum}, got {value}")
    return number


def json_value(env: Env, name: str) -> Any:
    value = require_str(env, name)
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"environment variable {name} is not valid JSON: {exc}") from None
