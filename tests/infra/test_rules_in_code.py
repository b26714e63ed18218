"""One set of rules: config built in code (a platform team's own app) meets the same rules as
an environment file, and ``ServedModel`` enforces them for the model it is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms

from safe_sagemaker.config import ConfigError, EnvironmentConfig, ModelConfig
from safe_sagemaker.constructs.alerts_topic import AlertsTopic
from safe_sagemaker.served_model import ServedModel
from tests.infra.test_config import VALID_MODEL, env_with, error_for

UNPINNED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:latest"
NOT_PINNED = "is not pinned; a production environment needs a version tag or digest"


def model(**changes: Any) -> ModelConfig:
    return ModelConfig(**{**VALID_MODEL, **changes})


def test_production_rules_hold_for_config_built_in_code(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        EnvironmentConfig(name="prod", production=True, models=[model(image_uri=UNPINNED)])
    assert str(raised.value).startswith("field 'models[0].image_uri': image ")
    assert NOT_PINNED in str(raised.value)
    # The loader reports the same rule, with the environment and model named.
    from_file = error_for(tmp_path, env_with({"image_uri": UNPINNED}))
    assert from_file.startswith("environment 'prod', model 'fraud-detector', field 'models[0].")
    assert NOT_PINNED in from_file


def test_whole_environment_rules_hold_in_code() -> None:
    with pytest.raises(ConfigError, match=r"field 'models\[1\].name': duplicate model name"):
        EnvironmentConfig(name="dev", models=[model(), model()])


def test_production_defaults_apply_to_models_built_in_code() -> None:
    prod = EnvironmentConfig(name="prod", production=True, models=[model()])
    dev = EnvironmentConfig(name="dev", models=[model()])
    explicit = EnvironmentConfig(
        name="prod", production=True, models=[model(data_capture={"enabled": False})]
    )
    assert prod.models[0].data_capture.enabled
    assert prod.canary.enabled
    assert not dev.models[0].data_capture.enabled
    assert not explicit.models[0].data_capture.enabled


def test_served_model_refuses_a_model_that_breaks_its_environments_rules() -> None:
    environment = EnvironmentConfig(name="prod", production=True, models=[model()])
    stack = Stack(App(), "Own")
    alerts = AlertsTopic(stack, "Alerts")
    key = kms.Key(stack, "Key")
    with pytest.raises(ConfigError) as raised:
        ServedModel(
            stack,
            "Latest",
            environment=environment,
            model=model(name="latest-model", image_uri=UNPINNED),
            alerts=alerts,
            data_key=key,
        )
    assert str(raised.value).startswith("field 'latest-model.image_uri': image ")
    assert not stack.node.try_find_child("Latest")  # nothing built
