"""Reading environment files: validation with one readable message per error, naming the
environment, the model, the field and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from safe_sagemaker.config.base import ConfigError, _FieldError
from safe_sagemaker.config.environment import ENVIRONMENTS_DIR, EnvironmentConfig
from safe_sagemaker.config_messages import describe_error


def _describe(env_name: str, raw: dict[str, Any], location: Iterable[str | int], msg: str) -> str:
    parts = list(location)
    where = f"environment {env_name!r}"
    if len(parts) >= 2 and parts[0] == "models" and isinstance(parts[1], int):
        models = raw.get("models")
        if (
            isinstance(models, list)
            and parts[1] < len(models)
            and isinstance(models[parts[1]], dict)
        ):
            where += f", model {models[parts[1]].get('name', '?')!r}"
    field = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in parts).replace(
        ".[", "["
    )
    return f"{where}, field {field or '<root>'!r}: {msg}"


def load_environment(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; raise ConfigError with one readable message."""
    env_name = path.stem
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"environment {env_name!r}: {path.name} is not valid JSON "
            f"(line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"environment {env_name!r}: {path.name} must hold a JSON object")
    if "name" in raw:
        raise ConfigError(
            f"environment {env_name!r}, field 'name': the environment is named by its file; "
            "remove the field"
        )
    try:
        env = EnvironmentConfig.model_validate({**raw, "name": env_name})
    except ValidationError as error:
        lines = [_describe(env_name, raw, e["loc"], _message(e)) for e in error.errors()]
        raise ConfigError("\n".join(lines)) from None
    except _FieldError as error:
        location = [
            int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", error.location) if p
        ]
        raise ConfigError(_describe(env_name, raw, location, error.message)) from None
    return env


def _message(error: Any) -> str:
    return describe_error(error, EnvironmentConfig)


def load_environments(directory: Path = ENVIRONMENTS_DIR) -> list[EnvironmentConfig]:
    """Load every ``*.json`` environment; all are validated before any is returned."""
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ConfigError(f"no environment files (*.json) in {directory}")
    return [load_environment(path) for path in paths]
