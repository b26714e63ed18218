"""Environments built in code for tests and benchmarks: an example environment grown to many
models, and one with a new version of a model."""

from __future__ import annotations

from typing import Any

from safe_sagemaker.config import EnvironmentConfig, load_environments

RESERVED_CONCURRENCY = 10


def grown_environment(models: int, *, nested: bool, dashboard: bool = True) -> EnvironmentConfig:
    """The prod example with its models repeated under new names (``m00-fraud-detector``,
    ``m01-churn-xgboost``, ...), each model in a nested stack of its own when ``nested``."""
    prod = next(env for env in load_environments() if env.name == "prod")
    raw: dict[str, Any] = prod.model_dump(mode="json")
    kinds = raw["models"]
    # Prod reserves 100 and 50 front-end executions; 50 such models would ask more of an
    # account than Lambda gives (the config refuses over 900), so grown copies reserve 10 each.
    raw["models"] = [
        {
            **kinds[i % len(kinds)],
            "name": f"m{i:02d}-{kinds[i % len(kinds)]['name']}",
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
