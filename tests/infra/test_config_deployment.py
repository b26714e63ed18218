"""The blue/green settings: deployment config by environment and model, pre/post-traffic hook
settings and rollback thresholds, their defaults, their errors, and the fingerprint they must
leave alone. No CDK synth here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import (
    DEFAULT_SAMPLE_REQUEST,
    FINGERPRINT_LENGTH,
    EnvironmentConfig,
    ModelConfig,
    load_environment,
)
from safe_sagemaker.deployment_configs import DEPLOYMENT_CONFIG_NAMES
from safe_sagemaker.iam_patterns import iam_pattern_matches
from tests.infra.test_config import env_with, error_for, write_env


def body(
    deployment: dict[str, Any] | None = None, *, production: bool = True, **env_fields: Any
) -> dict[str, Any]:
    changes = {} if deployment is None else {"deployment": deployment}
    # The canary has its own tests; here it would only ask for a canary_request.
    return env_with(changes, production=production, canary={"enabled": False}, **env_fields)


def load(tmp_path: Path, deployment: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return load_environment(write_env(tmp_path, "prod", body(deployment, **kwargs)))


@pytest.mark.parametrize(
    ("production", "expected"), [(True, "Canary10Percent5Minutes"), (False, "AllAtOnce")]
)
def test_deployment_config_defaults_by_environment(
    tmp_path: Path, production: bool, expected: str
) -> None:
    env = load(tmp_path, production=production)
    assert env.deployment_config_for(env.models[0]) == expected


def test_model_overrides_environment_deployment_config(tmp_path: Path) -> None:
    env = load(
        tmp_path,
        {"config": "Linear10PercentEvery1Minute"},
        deployment_config="Canary10Percent15Minutes",
    )
    assert env.deployment_config_for(env.models[0]) == "Linear10PercentEvery1Minute"
    env = load(tmp_path, deployment_config="Canary10Percent15Minutes")
    assert env.deployment_config_for(env.models[0]) == "Canary10Percent15Minutes"


@pytest.mark.parametrize("name", DEPLOYMENT_CONFIG_NAMES)
def test_every_predefined_config_is_selectable(tmp_path: Path, name: str) -> None:
    env = load(tmp_path, {"config": name})
    assert env.deployment_config_for(env.models[0]) == name


@pytest.mark.parametrize(
    ("deployment", "env_fields", "field"),
    [
        ({"config": "Canary10Percent7Minutes"}, {}, "models[0].deployment.config"),
        # CodeDeploy's full name is not the config spelling: say so instead of guessing.
        (
            {"config": "CodeDeployDefault.LambdaAllAtOnce"},
            {},
            "models[0].deployment.config",
        ),
        (None, {"deployment_config": "canary"}, "deployment_config"),
    ],
)
def test_unknown_deployment_config_is_a_config_error(
    tmp_path: Path, deployment: dict[str, Any] | None, env_fields: dict[str, Any], field: str
) -> None:
    message = error_for(tmp_path, body(deployment, **env_fields))
    assert f"field {field!r}" in message
    assert "unknown deployment config" in message
    assert "Canary10Percent5Minutes" in message  # the fix: the names that exist


def test_cdk_knows_every_config_name() -> None:
    from safe_sagemaker.constructs.blue_green_deployment import lambda_deployment_config

    for name in DEPLOYMENT_CONFIG_NAMES:
        config = lambda_deployment_config(name)
        assert config.deployment_config_name == f"CodeDeployDefault.Lambda{name}"


def test_samples_default_to_the_canary_request_else_a_json_request(tmp_path: Path) -> None:
    env = load(tmp_path)
    assert env.models[0].pre_traffic_samples == [DEFAULT_SAMPLE_REQUEST]
    canary = {"content_type": "text/csv", "body": "1,2,3"}
    model = ModelConfig.model_validate({**_model(), "canary_request": canary})
    (sample,) = model.pre_traffic_samples
    assert sample.hook_json() == {"contentType": "text/csv", "body": "1,2,3", "expectStatus": 200}


def test_sample_requests_reach_the_hook_in_its_camel_case_form(tmp_path: Path) -> None:
    env = load(
        tmp_path,
        {
            "sample_requests": [
                {
                    "body": '{"x": 1}',
                    "accept": "application/json",
                    "expect_content_type": "application/json",
                    "expect_json_keys": ["score"],
                },
                {"content_type": "text/csv", "body": "MSwy", "body_base64": True},
            ]
        },
    )
    assert [s.hook_json() for s in env.models[0].pre_traffic_samples] == [
        {
            "contentType": "application/json",
            "body": '{"x": 1}',
            "expectStatus": 200,
            "accept": "application/json",
            "expectContentType": "application/json",
            "expectJsonKeys": ["score"],
        },
        {"contentType": "text/csv", "body": "MSwy", "expectStatus": 200, "bodyBase64": True},
    ]


def test_min_invocations_defaults_to_one_more_than_the_samples(tmp_path: Path) -> None:
    samples = [{"body": "{}"}, {"body": "[]"}]
    assert load(tmp_path).models[0].post_traffic_min_invocations == 2
    env = load(tmp_path, {"sample_requests": samples})
    assert env.models[0].post_traffic_min_invocations == 3
    env = load(tmp_path, {"sample_requests": samples, "min_invocations": 1})
    assert env.models[0].post_traffic_min_invocations == 1


@pytest.mark.parametrize(
    ("deployment", "field", "fix"),
    [
        (
            {"sample_requests": [{"content_type": "image/png", "body": "eA=="}]},
            "models[0].deployment.sample_requests[0].content_type",
            "allowed_content_types",
        ),
        (
            {"sample_requests": [{"body": "not base64!", "body_base64": True}]},
            "models[0].deployment.sample_requests[0]",
            "not valid base64",
        ),
        (
            {"sample_requests": [{"body": "x" * 3100}]},
            "models[0].deployment.sample_requests",
            "fewer or smaller samples",
        ),
        ({"sample_requests": []}, "models[0].deployment.sample_requests", "at least 1"),
        (
            {"min_invocations": 0},
            "models[0].deployment.min_invocations",
            "must be at least 1, not 0",
        ),
        (
            {"max_5xx_ratio": 1.5},
            "models[0].deployment.max_5xx_ratio",
            "must be at most 1, not 1.5",
        ),
        # The post-traffic hook must report before Lambda's 15 minutes are up.
        ({"metrics_wait_seconds": 900}, "models[0].deployment.metrics_wait_seconds", "840"),
        (
            {"rollback_alarms": {"evaluation_periods": 1, "datapoints_to_alarm": 2}},
            "models[0].deployment.rollback_alarms",
            "datapoints_to_alarm",
        ),
        (
            {"rollback_alarms": {"max_error_ratio": 0}},
            "models[0].deployment.rollback_alarms.max_error_ratio",
            "greater than 0",
        ),
        (
            {"rollback_alarms": {"max_error_ratio": 1}},
            "models[0].deployment.rollback_alarms.max_error_ratio",
            "less than 1",
        ),
        (
            {"rollback_alarms": {"min_requests": 0}},
            "models[0].deployment.rollback_alarms.min_requests",
            "must be at least 1, not 0",
        ),
        # The count thresholds the ratios replaced: a config still naming one is an error.
        *(
            (
                {"rollback_alarms": {removed: 2}},
                f"models[0].deployment.rollback_alarms.{removed}",
                "typo",
            )
            for removed in (
                "invocation_5xx_errors",
                "frontend_errors",
                "model_errors",
                "model_timeouts",
                "frontend_failures",
            )
        ),
        ({"canary": "Canary10Percent5Minutes"}, "models[0].deployment.canary", "typo"),
    ],
)
def test_bad_deployment_settings_name_field_and_fix(
    tmp_path: Path, deployment: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, body(deployment))
    assert "environment 'prod', model 'fraud-detector'" in message
    assert f"field {field!r}" in message
    assert fix in message


def test_rollback_latency_defaults_to_the_models_alarm_budget(tmp_path: Path) -> None:
    rollback = load(tmp_path).models[0].deployment.rollback_alarms
    assert rollback.model_latency_p99_ms is None  # ServedModel falls back to alarms.*
    assert (rollback.period_seconds, rollback.evaluation_periods) == (60, 1)
    assert rollback.datapoints_to_alarm == 1


def test_rollback_alarms_judge_error_ratios_over_a_minimum_of_requests(tmp_path: Path) -> None:
    rollback = load(tmp_path).models[0].deployment.rollback_alarms
    assert (rollback.max_error_ratio, rollback.min_requests) == (0.02, 3)
    tuned = load(tmp_path, {"rollback_alarms": {"max_error_ratio": 0.1, "min_requests": 20}})
    rollback = tuned.models[0].deployment.rollback_alarms
    assert (rollback.max_error_ratio, rollback.min_requests) == (0.1, 20)


def test_few_invocations_only_delay_the_post_traffic_verdict(tmp_path: Path) -> None:
    """min_invocations is when the hook may decide early, not a floor green must reach: any
    positive value is valid, however large."""
    env = load(tmp_path, {"min_invocations": 10_000})
    assert env.models[0].post_traffic_min_invocations == 10_000


def test_deployment_settings_never_change_the_fingerprint(tmp_path: Path) -> None:
    """Only what defines the served model may create a new endpoint."""
    base = load(tmp_path).models[0]
    tuned = load(
        tmp_path,
        {
            "config": "Linear10PercentEvery3Minutes",
            "sample_requests": [{"body": '{"instances": [[1]]}'}],
            "min_invocations": 50,
            "max_5xx_ratio": 0.2,
            "metrics_wait_seconds": 600,
            "rollback_alarms": {
                "max_error_ratio": 0.5,
                "min_requests": 9,
                "model_latency_p99_ms": 20,
            },
        },
        deployment_config="Canary10Percent30Minutes",
    ).models[0]
    assert tuned.fingerprint() == base.fingerprint()
    moved = base.model_copy(update={"model_data_url": "s3://ml-models-prod/fraud/v3/m.tar.gz"})
    assert moved.fingerprint() != base.fingerprint()


def test_endpoint_name_pattern_covers_every_version_of_the_model_only() -> None:
    prod = EnvironmentConfig.model_validate({"name": "prod", "models": [_model()]})
    model = prod.models[0]
    pattern = prod.endpoint_name_pattern(model)
    assert pattern == "prod-fraud-detector-" + "?" * FINGERPRINT_LENGTH
    other = model.model_copy(update={"model_data_url": "s3://b-b/other/model.tar.gz"})
    assert iam_pattern_matches(pattern, prod.endpoint_name(model))
    assert iam_pattern_matches(pattern, prod.endpoint_name(other))
    for name in (
        "prod-fraud-detector-v2-1a2b3c4d",
        "prod-fraud-detector-1a2b3c4",
        "prod-fraud-detector-1a2b3c4d5",
        "dev-fraud-detector-1a2b3c4d",
    ):
        assert not iam_pattern_matches(pattern, name), name


def _model() -> dict[str, Any]:
    return env_with({})["models"][0]
