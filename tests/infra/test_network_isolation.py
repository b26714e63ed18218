"""Network isolation of the serving containers: on by default, off only with a reason in the
config, never on a serverless endpoint (SageMaker does not support it there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from safe_sagemaker.config import load_environment, load_environments
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from tests.conftest import Synthesized
from tests.infra.cfn_text import resources
from tests.infra.test_config import env_with, error_for, write_env

ENVS = {env.stack_name: env for env in load_environments()}
SERVERLESS = {
    "serverless": {"memory_size_mb": 2048},
    "autoscaling": None,
    "instance_type": None,
    "initial_instance_count": None,
}


def models_by_isolation(template: dict[str, Any]) -> dict[bool, int]:
    counts = {True: 0, False: 0}
    for model in resources(template, "AWS::SageMaker::Model").values():
        counts[model["Properties"].get("EnableNetworkIsolation", False)] += 1
    return counts


@pytest.mark.parametrize("stack", ["DevStack", "ProdStack"])
def test_instance_models_are_isolated_and_serverless_ones_not(
    synthesized: Synthesized, stack: str
) -> None:
    models = ENVS[stack].models
    assert models_by_isolation(synthesized.templates[stack]) == {
        True: sum(m.serverless is None for m in models),
        False: sum(m.serverless is not None for m in models),
    }


def test_isolation_is_on_by_default(tmp_path: Path) -> None:
    (model,) = load_environment(write_env(tmp_path, "prod", env_with({}))).models
    assert model.network_isolation is None
    assert model.network_isolated


def test_opting_out_needs_a_reason(tmp_path: Path) -> None:
    message = error_for(tmp_path, env_with({"network_isolation": {"enabled": False}}))
    assert message.startswith(
        "environment 'prod', model 'fraud-detector', field 'models[0].network_isolation'"
    )
    assert "needs a reason of at least 20 characters" in message
    short = {"network_isolation": {"enabled": False, "reason": "needed"}}
    assert "needs a reason" in error_for(tmp_path, env_with(short))


def test_an_opt_out_with_a_reason_deploys_an_unisolated_model(tmp_path: Path) -> None:
    reason = "reads features from the online feature store at inference"
    opted_out = env_with({"network_isolation": {"enabled": False, "reason": reason}})
    (model,) = load_environment(write_env(tmp_path, "prod", opted_out)).models
    (default,) = load_environment(write_env(tmp_path, "prod", env_with({}))).models
    assert not model.network_isolated
    # The switch deploys a new endpoint; the reason's wording does not.
    assert model.fingerprint() != default.fingerprint()
    reworded = env_with({"network_isolation": {"enabled": False, "reason": reason + " (v2)"}})
    (again,) = load_environment(write_env(tmp_path, "prod", reworded)).models
    assert again.fingerprint() == model.fingerprint()


def test_serverless_cannot_be_isolated(tmp_path: Path) -> None:
    body = env_with({**SERVERLESS, "network_isolation": {"enabled": True}}, production=False)
    message = error_for(tmp_path, body, name="dev")
    assert "serverless endpoints do not support network isolation" in message
    (model,) = load_environment(
        write_env(tmp_path, "dev", env_with(SERVERLESS, production=False))
    ).models
    assert not model.network_isolated


def test_the_construct_defaults_to_isolation_and_refuses_it_for_serverless() -> None:
    stack = Stack(App(), "Isolated")
    ModelEndpoint(
        stack,
        "Endpoint",
        endpoint_name="isolated",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1.0",
        model_data_url="s3://bucket/model.tar.gz",
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Model",
        {"EnableNetworkIsolation": True, "ExecutionRoleArn": Match.any_value()},
    )
    with pytest.raises(ValueError, match="network isolation is not supported on serverless"):
        ModelEndpoint(
            stack,
            "Serverless",
            endpoint_name="serverless",
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1.0",
            model_data_url="s3://bucket/model.tar.gz",
            serverless_memory_size_mb=2048,
            network_isolation=True,
        )
