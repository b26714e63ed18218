"""Configuration of data capture, Model Monitor, the canary and the dashboard: defaults by
environment, validation messages that name the field, and what the fingerprint covers. No
synth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import DEFAULT_SAMPLE_REQUEST, load_environment, load_environments
from tests.infra.test_config import VALID_MODEL, env_with, error_for, write_env

BASELINE = {
    "baseline_statistics_uri": "s3://ml-baselines/fraud/statistics.json",
    "baseline_constraints_uri": "s3://ml-baselines/fraud/constraints.json",
}
SERVERLESS = {
    "serverless": {"memory_size_mb": 2048},
    "autoscaling": None,
    "instance_type": None,
    "initial_instance_count": None,
}


def load(tmp_path: Path, body: dict[str, Any], name: str = "prod") -> Any:
    return load_environment(write_env(tmp_path, name, body))


def test_production_captures_everything_and_runs_the_canary_by_default(tmp_path: Path) -> None:
    env = load(tmp_path, env_with({}))
    capture = env.models[0].data_capture
    assert capture.enabled and capture.sampling_percentage == 100
    assert capture.json_content_types == ["application/json"]
    assert capture.csv_content_types == ["text/csv"]
    assert env.canary.enabled and env.canary.schedule_minutes == 10
    assert env.dashboard.enabled
    assert env.models[0].monitoring is None
    assert env.capture_retention_days == 90


def test_other_environments_capture_nothing_and_run_no_canary_by_default(tmp_path: Path) -> None:
    env = load(tmp_path, env_with({}, production=False), name="dev")
    assert not env.models[0].data_capture.enabled
    assert not env.canary.enabled
    assert env.dashboard.enabled


def test_serverless_models_capture_nothing_by_default_even_in_production(tmp_path: Path) -> None:
    env = load(tmp_path, env_with(SERVERLESS))
    assert not env.models[0].data_capture.enabled


def test_an_environment_can_opt_in(tmp_path: Path) -> None:
    body = env_with(
        {"data_capture": {"sampling_percentage": 5}, "monitoring": BASELINE},
        production=False,
        canary={"enabled": True, "schedule_minutes": 5, "alarm_window_minutes": 15},
    )
    env = load(tmp_path, body, name="dev")
    model = env.models[0]
    assert model.data_capture.enabled and model.data_capture.sampling_percentage == 5
    assert model.monitoring is not None and model.monitoring.instance_type == "ml.m5.xlarge"
    assert env.canary.enabled and env.canary.alarm_window_minutes == 15


def test_repository_environments_match_the_readme() -> None:
    envs = {env.name: env for env in load_environments()}
    dev, prod = envs["dev"], envs["prod"]
    assert not any(m.data_capture.enabled or m.monitoring for m in dev.models)
    assert not dev.canary.enabled
    assert all(m.data_capture.enabled for m in prod.models)
    assert prod.canary.enabled
    # The example production environment monitors one model against a baseline.
    assert [m.name for m in prod.models if m.monitoring] == ["fraud-detector"]


@pytest.mark.parametrize(
    ("changes", "env_fields", "field", "fix"),
    [
        pytest.param(
            {"data_capture": {"sampling_percentage": 0}},
            {},
            "models[0].data_capture.sampling_percentage",
            "must be at least 1, not 0",
            id="sampling-zero",
        ),
        pytest.param(
            {"data_capture": {"sampling_percentage": 101}},
            {},
            "models[0].data_capture.sampling_percentage",
            "must be at most 100, not 101",
            id="sampling-over-100",
        ),
        pytest.param(
            {"data_capture": {"json_content_types": ["JSON"]}},
            {},
            "models[0].data_capture.json_content_types",
            "lowercase media type",
            id="bad-media-type",
        ),
        pytest.param(
            {"data_capture": {"csv_content_types": ["application/json"]}},
            {},
            "models[0].data_capture",
            "both JSON and CSV",
            id="type-in-both-lists",
        ),
        pytest.param(
            {"data_capture": {"json_content_types": [], "csv_content_types": []}},
            {},
            "models[0].data_capture",
            "at least one",
            id="no-content-type",
        ),
        pytest.param(
            {**SERVERLESS, "data_capture": {"enabled": True}},
            {},
            "models[0].data_capture.enabled",
            "serverless",
            id="capture-on-serverless",
        ),
        pytest.param(
            {"monitoring": BASELINE, "data_capture": {"enabled": False}},
            {},
            "models[0].monitoring",
            "enable data_capture",
            id="monitor-without-capture",
        ),
        pytest.param(
            {"monitoring": {**BASELINE, "baseline_statistics_uri": "s3://ml-baselines/"}},
            {},
            "models[0].monitoring.baseline_statistics_uri",
            "s3://<bucket>/<key>",
            id="baseline-not-an-object",
        ),
        pytest.param(
            {"monitoring": {**BASELINE, "baseline_constraints_uri": "https://x/constraints.json"}},
            {},
            "models[0].monitoring.baseline_constraints_uri",
            "s3://<bucket>/<key>",
            id="baseline-not-s3",
        ),
        pytest.param(
            {"monitoring": {**BASELINE, "max_runtime_minutes": 60}},
            {},
            "models[0].monitoring.max_runtime_minutes",
            "must be at most 59, not 60",
            id="run-longer-than-the-hour",
        ),
        pytest.param(
            {"monitoring": {**BASELINE, "instance_type": "m5.xlarge"}},
            {},
            "models[0].monitoring.instance_type",
            "did you mean 'ml.m5.xlarge'?",
            id="monitor-instance-type",
        ),
        pytest.param(
            {},
            {"canary": {"schedule_minutes": 10, "alarm_window_minutes": 5}},
            "canary",
            "at least one schedule interval",
            id="window-shorter-than-schedule",
        ),
        pytest.param(
            {},
            {"canary": {"schedule_minutes": 61}},
            "canary.schedule_minutes",
            "must be at most 60, not 61",
            id="schedule-over-an-hour",
        ),
        pytest.param(
            {"canary_request": {"content_type": "image/png", "body": "x"}},
            {},
            "models[0].canary_request.content_type",
            "allowed_content_types",
            id="canary-type-not-allowed",
        ),
        pytest.param(
            {"canary_request": {"body": "x" * 1025}},
            {},
            "models[0].canary_request.body",
            "under 1024",
            id="canary-body-too-big",
        ),
        pytest.param(
            {},
            {"capture_retention_days": 0},
            "capture_retention_days",
            "must be at least 1, not 0",
            id="retention-zero",
        ),
    ],
)
def test_bad_observability_config_names_field_and_fix(
    tmp_path: Path, changes: dict[str, Any], env_fields: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, env_with(changes, **env_fields))
    assert f"field {field!r}" in message
    assert fix in message
    assert message.startswith("environment 'prod'")


def test_canary_bodies_of_many_models_are_not_bounded_together(tmp_path: Path) -> None:
    """The canary's routes travel in its script's archive, not in its 4 KB environment."""
    models = [
        {**VALID_MODEL, "name": f"model-{n}", "canary_request": {"body": "x" * 1000}}
        for n in range(4)
    ]
    load(tmp_path, {"production": True, "models": models})


def test_canary_sample_falls_back_to_the_pre_traffic_sample_then_the_default(
    tmp_path: Path,
) -> None:
    own = {"content_type": "text/csv", "body": "1,2,3"}
    sample = {"content_type": "application/json", "body": '{"instances": [[1]]}'}
    explicit = load(tmp_path, env_with({"canary_request": own}))
    assert explicit.models[0].canary_sample.body == "1,2,3"
    reused = load(tmp_path, env_with({"deployment": {"sample_requests": [sample]}}))
    assert reused.models[0].canary_sample.body == sample["body"]
    default = load(tmp_path, env_with({}))
    assert default.models[0].canary_sample.body == DEFAULT_SAMPLE_REQUEST.body


def test_capture_settings_are_fingerprinted_monitoring_and_canary_are_not(
    tmp_path: Path,
) -> None:
    def fingerprint(changes: dict[str, Any]) -> str:
        return str(load(tmp_path, env_with(changes)).models[0].fingerprint())

    base = fingerprint({})
    # They change the endpoint config, so they must make a new (green) endpoint.
    assert fingerprint({"data_capture": {"sampling_percentage": 50}}) != base
    assert fingerprint({"data_capture": {"enabled": False}}) != base
    # They do not touch the endpoint config; tuning them must not redeploy the model.
    assert fingerprint({"monitoring": BASELINE}) == base
    assert fingerprint({"canary_request": {"body": "{}"}}) == base
