"""The function's configuration: the environment-variable contract with the CDK code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_ALLOWED_CONTENT_TYPES = "application/json,text/csv"
DEFAULT_METRICS_NAMESPACE = "SafeSageMakerEndpoints"


class ConfigError(ValueError):
    """The environment does not satisfy the contract (a deployment bug, never the caller's)."""


def media_type(value: str) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``."""
    return value.split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the function needs to know, read once per process."""

    endpoint_name: str
    model_name: str
    model_version: str
    allowed_content_types: frozenset[str]
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    log_request_body: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse the environment variables the CDK code sets.

        ``ENDPOINT_NAME``, ``MODEL_NAME`` and ``MODEL_VERSION`` are required;
        ``ALLOWED_CONTENT_TYPES`` (comma-separated media types), ``METRICS_NAMESPACE`` and
        ``LOG_REQUEST_BODY`` (``"true"`` to log request bodies) are optional.
        """
        missing = [
            name
            for name in ("ENDPOINT_NAME", "MODEL_NAME", "MODEL_VERSION")
            if not env.get(name, "").strip()
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        allowed = frozenset(
            filter(None, map(media_type, env.get("ALLOWED_CONTENT_TYPES", "").split(",")))
        ) or frozenset(map(media_type, DEFAULT_ALLOWED_CONTENT_TYPES.split(",")))
        return cls(
            endpoint_name=env["ENDPOINT_NAME"].strip(),
            model_name=env["MODEL_NAME"].strip(),
            model_version=env["MODEL_VERSION"].strip(),
            allowed_content_types=allowed,
            metrics_namespace=env.get("METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE,
            log_request_body=env.get("LOG_REQUEST_BODY", "false").strip().lower() == "true",
        )
