"""Serverless endpoints and Model Registry packages: config errors (one per documented
exclusion), the fingerprint, and what DevStack's serverless package model synthesizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import ModelConfig, load_environments
from tests.conftest import Synthesized
from tests.infra.test_config import VALID_MODEL, env_with, error_for
from tests.infra.test_config_observability import SERVERLESS

DEV = next(e for e in load_environments() if e.name == "dev")
CHURN = next(m for m in DEV.models if m.name == "churn-scorer")
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/3"
PACKAGED = {"model_package_arn": PACKAGE, "image_uri": None, "model_data_url": None}


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        pytest.param(
            {**SERVERLESS, "instance_type": "ml.g5.xlarge"},
            "models[0].instance_type",
            "has no instances, so instance_type would be ignored; remove it",
            id="instance-type",
        ),
        pytest.param(
            {**SERVERLESS, "initial_instance_count": 2},
            "models[0].initial_instance_count",
            "initial_instance_count would be ignored",
            id="instance-count",
        ),
        pytest.param(
            {
                **SERVERLESS,
                "autoscaling": {"max_capacity": 2, "target_invocations_per_instance": 10},
            },
            "models[0].autoscaling",
            "autoscaling of provisioned concurrency is not supported here",
            id="autoscaling",
        ),
        pytest.param(
            {**SERVERLESS, "data_capture": {"enabled": True}},
            "models[0].data_capture.enabled",
            "cannot capture data from a serverless endpoint",
            id="data-capture",
        ),
        pytest.param(
            {
                **SERVERLESS,
                "data_capture": {"enabled": False},
                "monitoring": {
                    "baseline_statistics_uri": "s3://ml-baselines/statistics.json",
                    "baseline_constraints_uri": "s3://ml-baselines/constraints.json",
                },
            },
            "models[0].monitoring",
            "Model Monitor does not support serverless endpoints",
            id="monitoring",
        ),
        pytest.param(
            {**SERVERLESS, "image_uri": "registry.example.com/team/serving:v1"},
            "models[0].image_uri",
            "cannot pull from a private registry (registry.example.com); push the image to "
            "Amazon ECR",
            id="private-registry",
        ),
        pytest.param(
            {"serverless": {"memory_size_mb": 1500}},
            "models[0].serverless.memory_size_mb",
            "memory_size_mb must be one of (1024, 2048, 3072, 4096, 5120, 6144)",
            id="memory-step",
        ),
        pytest.param(
            {"serverless": {"max_concurrency": 201}},
            "models[0].serverless.max_concurrency",
            "must be at most 200, not 201",
            id="max-concurrency",
        ),
        pytest.param(
            {"serverless": {"max_concurrency": 4, "provisioned_concurrency": 5}},
            "models[0].serverless",
            "provisioned_concurrency (5) exceeds max_concurrency (4)",
            id="provisioned-above-max",
        ),
        pytest.param(
            {"alarms": {"model_setup_time_p99_ms": 5000}},
            "models[0].alarms.model_setup_time_p99_ms",
            "ModelSetupTime is a serverless metric",
            id="setup-time-on-instances",
        ),
        pytest.param(
            {"model_package_arn": PACKAGE},
            "models[0]",
            "either by image_uri and model_data_url together, or by model_package_arn alone",
            id="both-sources",
        ),
        pytest.param(
            {"model_data_url": None},
            "models[0]",
            "either by image_uri and model_data_url together, or by model_package_arn alone",
            id="half-a-source",
        ),
        pytest.param(
            {**PACKAGED, "model_package_arn": PACKAGE.rsplit("/", 1)[0]},
            "models[0].model_package_arn",
            "names no package version: it is a package group or an AWS Marketplace model package",
            id="unversioned-package",
        ),
    ],
)
def test_serverless_and_package_errors_name_field_and_fix(
    tmp_path: Path, changes: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, env_with(changes))
    assert f"field {field!r}" in message
    assert fix in message


def test_a_production_package_needs_no_image_tag(tmp_path: Path) -> None:
    from safe_sagemaker.config import load_environment
    from tests.infra.test_config import write_env

    env = load_environment(write_env(tmp_path, "prod", env_with(PACKAGED)))
    assert env.models[0].image is None


def _model(**changes: Any) -> ModelConfig:
    fields = {**VALID_MODEL, "autoscaling": None, **changes}
    return ModelConfig.model_validate({k: v for k, v in fields.items() if v is not None})


def test_fingerprint_of_serverless_ignores_instance_defaults_and_follows_serverless() -> None:
    base = _model(**SERVERLESS)
    # The same serverless model built with other (default-ignored) instance values.
    assert base.model_copy(update={"instance_type": "ml.m5.large"}).fingerprint() == (
        base.fingerprint()
    )
    more = _model(**{**SERVERLESS, "serverless": {"memory_size_mb": 4096}})
    warm = _model(**{**SERVERLESS, "serverless": {"provisioned_concurrency": 1}})
    assert len({base.fingerprint(), more.fingerprint(), warm.fingerprint()}) == 3


def test_fingerprint_follows_the_package_version() -> None:
    v3 = _model(**PACKAGED)
    v4 = _model(**{**PACKAGED, "model_package_arn": PACKAGE[:-1] + "4"})
    assert v3.fingerprint() != v4.fingerprint()
    assert DEV.endpoint_name(v3) != DEV.endpoint_name(v4)


def test_image_models_keep_their_fingerprint() -> None:
    # model_package_arn (absent) is not hashed: existing endpoint names do not change.
    model = _model()
    served = model.model_dump(mode="json")
    assert "model_package_arn" in served and model.fingerprint() == _model().fingerprint()


def _of_churn(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for k, r in template["Resources"].items()
        if r["Type"] == kind and k.startswith("churnscorer")
    ]


def test_serverless_endpoint_config_has_no_instance_fields_and_no_key(
    synthesized: Synthesized,
) -> None:
    (config,) = _of_churn(synthesized.templates["DevStack"], "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" not in config and "DataCaptureConfig" not in config
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 10,
        "ProvisionedConcurrency": 1,
    }
    assert not {"InstanceType", "InitialInstanceCount", "InitialVariantWeight"} & set(variant)


def test_package_model_uses_the_package_and_may_describe_only_it(
    synthesized: Synthesized,
) -> None:
    template = synthesized.templates["DevStack"]
    (model,) = _of_churn(template, "AWS::SageMaker::Model")
    assert model["Containers"] == [{"ModelPackageName": PACKAGE}]
    assert "PrimaryContainer" not in model
    statements = [
        s for p in _of_churn(template, "AWS::IAM::Policy") for s in p["PolicyDocument"]["Statement"]
    ]
    describe = [s for s in statements if "sagemaker:DescribeModelPackage" in str(s["Action"])]
    assert [s["Resource"] for s in describe] == [PACKAGE]
    (objects,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert objects["Condition"] == {"StringEquals": {"s3:ResourceAccount": "123456789012"}}
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert [json.dumps(s["Resource"]) for s in pulls] == [
        json.dumps(
            {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":ecr:us-east-1:123456789012:repository/*"],
                ]
            }
        )
    ]


def test_serverless_alarm_watches_p99_model_setup_time(synthesized: Synthesized) -> None:
    alarms = _of_churn(synthesized.templates["DevStack"], "AWS::CloudWatch::Alarm")
    (setup,) = [a for a in alarms if a.get("MetricName") == "ModelSetupTime"]
    assert setup["ExtendedStatistic"] == "p99"
    assert setup["Threshold"] == 15000 * 1000  # configured ms, in SageMaker's microseconds
    assert {"Name": "EndpointName", "Value": DEV.endpoint_name(CHURN)} in setup["Dimensions"]
    # Instance-hosted models have no such alarm.
    assert not [
        r
        for k, r in synthesized.templates["DevStack"]["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and not k.startswith("churnscorer")
        and r["Properties"].get("MetricName") == "ModelSetupTime"
    ]


def test_dashboard_row_of_a_serverless_endpoint(synthesized: Synthesized) -> None:
    from tests.infra.test_dashboard import body, metric_rows

    name = DEV.endpoint_name(CHURN)
    rows = [
        (metric, options.get("stat"))
        for _, metric, dimensions, options in metric_rows(body(synthesized, "DevStack"))
        if dimensions.get("EndpointName") == name
    ]
    assert ("ModelSetupTime", "p99") in rows and ("OverheadLatency", "p99") in rows
    assert {"Invocation5XXErrors", "Invocation4XXErrors"} <= {metric for metric, _ in rows}
    assert not {"CPUUtilization", "InvocationsPerInstance"} & {metric for metric, _ in rows}


def test_pre_traffic_hook_skips_capacity_matching_for_serverless(
    synthesized: Synthesized,
) -> None:
    from tests.infra.test_blue_green import hook

    _, function = hook(synthesized, DEV, CHURN, "BeforeAllowTraffic")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["VARIANT_NAME"] == "primary"
    assert not [key for key in variables if key.startswith("AUTOSCALING_")]
