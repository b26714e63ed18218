"""Configuration validation: every bad config fails with one message naming env, model, field
and fix. These tests need no CDK synth."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import ConfigError, load_environment, load_environments

VALID_MODEL: dict[str, Any] = {
    "name": "fraud-detector",
    "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:v2.1.0",
    "model_data_url": "s3://ml-models-prod/fraud-detector/v2/model.tar.gz",
    "instance_type": "ml.c5.xlarge",
    "initial_instance_count": 2,
    "autoscaling": {"min_capacity": 2, "max_capacity": 10, "target_invocations_per_instance": 500},
}


def write_env(tmp_path: Path, name: str, body: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


def env_with(model_changes: dict[str, Any], **env_fields: Any) -> dict[str, Any]:
    model = copy.deepcopy(VALID_MODEL)
    for key, value in model_changes.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    return {"production": True, "models": [model], **env_fields}


def error_for(tmp_path: Path, body: dict[str, Any], name: str = "prod") -> str:
    with pytest.raises(ConfigError) as raised:
        load_environment(write_env(tmp_path, name, body))
    return str(raised.value)


def test_repository_environments_are_valid() -> None:
    names = [env.name for env in load_environments()]
    assert {"dev", "prod"} <= set(names)


def test_valid_environment_loads(tmp_path: Path) -> None:
    env = load_environment(write_env(tmp_path, "prod", env_with({})))
    assert env.stack_name == "ProdStack"
    assert env.models[0].autoscaling is not None
    assert env.models[0].autoscaling.target_value == 500


def test_adding_an_environment_is_data(tmp_path: Path) -> None:
    write_env(tmp_path, "staging", env_with({}, production=False))
    write_env(tmp_path, "prod", env_with({}))
    envs = load_environments(tmp_path)
    assert [e.stack_name for e in envs] == ["ProdStack", "StagingStack"]


@pytest.mark.parametrize(
    ("changes", "env_fields", "field", "fix"),
    [
        pytest.param(
            {"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:latest"},
            {},
            "models[0].image_uri",
            "pin",
            id="latest-tag-in-prod",
        ),
        pytest.param(
            {"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving"},
            {},
            "models[0].image_uri",
            "version tag or digest",
            id="untagged-image-in-prod",
        ),
        pytest.param(
            {
                "autoscaling": {
                    "min_capacity": 3,
                    "max_capacity": 2,
                    "target_invocations_per_instance": 100,
                },
                "initial_instance_count": 3,
            },
            {},
            "models[0].autoscaling.max_capacity",
            "raise max_capacity",
            id="max-below-min",
        ),
        pytest.param(
            {"initial_instance_count": 11},
            {},
            "models[0].initial_instance_count",
            "between min_capacity and max_capacity",
            id="initial-above-max",
        ),
        pytest.param(
            {"initial_instance_count": 1},
            {},
            "models[0].initial_instance_count",
            "between min_capacity and max_capacity",
            id="initial-below-min",
        ),
        pytest.param(
            {
                "instance_type": "ml.t2.medium",
                "initial_instance_count": 1,
                "autoscaling": {
                    "min_capacity": 1,
                    "max_capacity": 2,
                    "target_invocations_per_instance": 100,
                },
            },
            {},
            "models[0].autoscaling",
            "cannot autoscale",
            id="burstable-autoscaling",
        ),
        pytest.param(
            {"model_data_url": "https://bucket.s3.amazonaws.com/model.tar.gz"},
            {},
            "models[0].model_data_url",
            "s3://<bucket>/<key>",
            id="model-data-not-s3",
        ),
        pytest.param(
            {"model_data_url": "s3://ml-models-prod"},
            {},
            "models[0].model_data_url",
            "s3://<bucket>/<key>",
            id="model-data-no-key",
        ),
        pytest.param(
            {"instance_type": "c5.xlarge"},
            {},
            "models[0].instance_type",
            "did you mean 'ml.c5.xlarge'?",
            id="instance-family-not-ml",
        ),
        pytest.param(
            {"name": "a-model-name-long-enough-to-push-the-endpoint-past-63"},
            {"production": True},
            "models[0].name",
            "shorten the model name",
            id="endpoint-name-too-long",
        ),
        pytest.param(
            {"name": "Fraud_Detector"},
            {},
            "models[0].name",
            "lowercase letters, digits and inner hyphens",
            id="endpoint-name-bad-characters",
        ),
        pytest.param(
            {"instance_typo": "ml.c5.xlarge"},
            {},
            "models[0].instance_typo",
            "unknown field",
            id="unknown-model-field",
        ),
        pytest.param(
            {"alarms": {"invocation_5xx_errors": 0}},
            {},
            "models[0].alarms.invocation_5xx_errors",
            "greater than 0",
            id="zero-threshold",
        ),
        pytest.param(
            {"alarms": {"model_latency_p99_ms": -5}},
            {},
            "models[0].alarms.model_latency_p99_ms",
            "greater than 0",
            id="negative-threshold",
        ),
        pytest.param(
            {"autoscaling": {"min_capacity": 2, "max_capacity": 10}},
            {},
            "models[0].autoscaling",
            "exactly one of target_invocations_per_instance or max_requests_per_second",
            id="autoscaling-without-target",
        ),
        pytest.param(
            {
                "autoscaling": {
                    "min_capacity": 2,
                    "max_capacity": 10,
                    "max_requests_per_second": 10,
                    "safety_factor": 1.5,
                }
            },
            {},
            "models[0].autoscaling.safety_factor",
            "must be at most 1, not 1.5",
            id="safety-factor-above-one",
        ),
    ],
)
def test_bad_config_names_environment_model_field_and_fix(
    tmp_path: Path, changes: dict[str, Any], env_fields: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, env_with(changes, **env_fields))
    assert message.startswith("environment 'prod'")
    assert "model '" in message
    assert f"field '{field}'" in message
    assert fix in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize(
    ("env_fields", "field", "fix"),
    [
        ({"regoin": "eu-west-1"}, "regoin", "unknown field"),
        ({"log_retention_days": 10}, "log_retention_days", "use one of"),
        ({"account": "12345"}, "account", "12-digit"),
        ({"alert_emails": ["not-an-address"]}, "alert_emails", "e-mail"),
        ({"models": []}, "models", "at least 1"),
    ],
)
def test_bad_environment_field(
    tmp_path: Path, env_fields: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, env_with({}, **env_fields))
    assert f"field '{field}'" in message
    assert fix in message


def test_latest_tag_is_allowed_outside_production(tmp_path: Path) -> None:
    body = env_with(
        {"image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:latest"},
        production=False,
    )
    assert load_environment(write_env(tmp_path, "dev", body)).models[0].image.tag == "latest"


def test_duplicate_model_names_are_rejected(tmp_path: Path) -> None:
    body = env_with({})
    body["models"].append(copy.deepcopy(VALID_MODEL))
    message = error_for(tmp_path, body)
    assert "field 'models[1].name'" in message and "duplicate" in message


def test_invalid_json_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.write_text('{"models": [}')
    with pytest.raises(
        ConfigError, match=r"environment 'prod': prod.json is not valid JSON \(line 1"
    ):
        load_environment(path)


def test_target_from_load_test_uses_the_aws_formula(tmp_path: Path) -> None:
    body = env_with(
        {
            "autoscaling": {
                "min_capacity": 2,
                "max_capacity": 10,
                "max_requests_per_second": 40,
                "safety_factor": 0.5,
            }
        }
    )
    scaling = load_environment(write_env(tmp_path, "prod", body)).models[0].autoscaling
    assert scaling is not None
    assert scaling.target_value == 40 * 0.5 * 60


def test_fingerprint_tracks_served_model_only(tmp_path: Path) -> None:
    base = load_environment(write_env(tmp_path, "prod", env_with({}))).models[0]
    new_data = load_environment(
        write_env(
            tmp_path, "prod", env_with({"model_data_url": "s3://ml-models-prod/v3/model.tar.gz"})
        )
    ).models[0]
    new_alarms = load_environment(
        write_env(tmp_path, "prod", env_with({"alarms": {"invocation_5xx_errors": 9}}))
    ).models[0]
    assert base.fingerprint() != new_data.fingerprint()
    assert base.fingerprint() == new_alarms.fingerprint()
    assert (
        base.fingerprint()
        == load_environment(write_env(tmp_path, "prod", env_with({}))).models[0].fingerprint()
    )


def test_app_reports_config_error_and_builds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app
    import safe_sagemaker.config

    write_env(tmp_path, "prod", env_with({"instance_type": "c5.xlarge"}))
    monkeypatch.setattr(
        app, "load_environments", lambda: safe_sagemaker.config.load_environments(tmp_path)
    )
    built: list[object] = []
    monkeypatch.setattr(app, "ModelServingStack", lambda *a, **k: built.append(a))
    with pytest.raises(SystemExit) as exit_info:
        app.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "configuration error: environment 'prod', model 'fraud-detector', "
        "field 'models[0].instance_type'"
    )
    assert built == []
