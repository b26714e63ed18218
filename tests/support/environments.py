"""Environments built in code for tests and benchmarks: an example environment grown to many
models, and one with a new version of a model."""

from __future__ import annotations

from typing import Any

from safe_sagemaker.config import (
    ENDPOINT_NAME_MAX_LENGTH,
    FINGERPRINT_LENGTH,
    EnvironmentConfig,
    load_environments,
)

RESERVED_CONCURRENCY = 10


def grown_environment(
    models: int, *, nested: bool, dashboard: bool = True, longest_names: bool = False
) -> EnvironmentConfig:
    """The prod example with its models repeated under new names (``m00-fraud-detector``,
    ``m01-churn-xgboost``, ...), each model in a nested stack of its own when ``nested``.
    ``longest_names`` pads each name with ``x`` to the most its endpoint name allows
    (``m00-fraud-detector-xxx...``): the worst case for the size limits that names count in."""
    prod = next(env for env in load_environments() if env.name == "prod")
    raw: dict[str, Any] = prod.model_dump(mode="json")
    kinds = raw["models"]

    def name(i: int) -> str:
        kind = kinds[i % len(kinds)]
        short = f"m{i:02d}-{kind['name']}"
        if not longest_names:
            return short
        # An endpoint-guardrails endpoint is named <env>-<model>; the others add a fingerprint.
        native = kind.get("deployment", {}).get("strategy") == "endpoint-guardrails"
        suffix = 0 if native else len("-") + FINGERPRINT_LENGTH
        longest = ENDPOINT_NAME_MAX_LENGTH - len(f"{prod.name}-") - suffix
        return f"{short}-{'x' * longest}"[:longest]

    # Prod reserves 100 and 50 front-end executions; 50 such models would ask more of an
    # account than Lambda gives (the config refuses over 900), so grown copies reserve 10 each.
    raw["models"] = [
        {
            **kinds[i % len(kinds)],
            "name": name(i),
            "reserved_concurrency": RESERVED_CONCURRENCY,
        }
        for i in range(models)
    ]
    raw["nested_model_stacks"] = nested
    raw["dashboard"] = {"enabled": dashboard}
    return EnvironmentConfig.model_validate(raw)


def with_new_model_data(config: EnvironmentConfig, model_name: str) -> EnvironmentConfig:
    """``config`` with ``model_name``'s artifact moved: a new model version."""
    raw = config.model_dump(mode="json")
    for model in raw["models"]:
        if model["name"] == model_name:
            model["model_data_url"] = model["model_data_url"].replace(
                "model.tar.gz", "retrained/model.tar.gz"
            )
    return EnvironmentConfig.model_validate(raw)
