"""endpoint-guardrails: SageMaker's own in-place update of one stable endpoint. Config defaults
and errors (one per documented exclusion and per SageMaker rule), what ProdStack's guardrails
model (churn-xgboost) synthesizes, and a second app with the other modes: serverless all at
once from a Model Registry package, rolling, linear (cdk-nag and cfn-lint clean)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from safe_sagemaker.config import EnvironmentConfig, load_environment, load_environments
from safe_sagemaker.constructs.endpoint_deployment_notifications import (
    EndpointDeploymentNotifications,
)
from safe_sagemaker.endpoint_update_policy import CapacitySize, EndpointUpdatePolicy, PolicyError
from tests.conftest import Synthesized, cfn_lint, cli_app
from tests.infra.cfn_text import compact_length, render, resources
from tests.infra.test_config import env_with, error_for, write_env
from tests.infra.test_config_observability import SERVERLESS

PROD = next(e for e in load_environments() if e.name == "prod")
NATIVE = next(m for m in PROD.models if PROD.endpoint_native(m))
GUARDED = {"strategy": "endpoint-guardrails"}
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/3"
PACKAGED = {"model_package_arn": PACKAGE, "image_uri": None, "model_data_url": None}


def guarded(guardrails: dict[str, Any] | None = None, **model: Any) -> dict[str, Any]:
    deployment = {**GUARDED, **({"guardrails": guardrails} if guardrails is not None else {})}
    return env_with({**model, "deployment": deployment}, canary={"enabled": False})


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("production", "mode"), [(True, "canary"), (False, "all-at-once")], ids=["prod", "dev"]
)
def test_guardrails_defaults_by_environment(tmp_path: Path, production: bool, mode: str) -> None:
    body = {**guarded(), "production": production}
    env = load_environment(write_env(tmp_path, "prod", body))
    settings = env.guardrails_for(env.models[0])
    assert settings is not None
    policy = settings.policy()
    assert (policy.mode, policy.wait_interval_seconds) == (mode, 300)
    expected_canary = CapacitySize("CAPACITY_PERCENT", 10) if production else None
    assert policy.canary_size == expected_canary


def test_strategy_defaults_to_the_environments_and_a_model_overrides_it(tmp_path: Path) -> None:
    body = env_with({}, deployment_strategy="endpoint-guardrails", canary={"enabled": False})
    second = {**body["models"][0], "name": "other", "deployment": {"strategy": "frontend-alias"}}
    body["models"].append(second)
    env = load_environment(write_env(tmp_path, "prod", body))
    first, other = env.models
    assert (env.strategy_for(first), env.strategy_for(other)) == (
        "endpoint-guardrails",
        "frontend-alias",
    )
    assert env.endpoint_name(first) == "prod-fraud-detector"
    assert env.endpoint_name_pattern(first) == "prod-fraud-detector"
    assert env.endpoint_name(other) == f"prod-other-{other.fingerprint()}"
    assert EnvironmentConfig.model_fields["deployment_strategy"].default == "frontend-alias"


@pytest.mark.parametrize(
    ("model", "guardrails", "field", "fix"),
    [
        # SageMaker's exclusions (deployment guardrails, "Exclusions").
        pytest.param(
            {"instance_type": "ml.inf1.xlarge", "autoscaling": None},
            None,
            "models[0].instance_type",
            "do not support ml.inf1.xlarge (Inferentia 1): it would update the endpoint all at "
            "once with no bake; choose another family",
            id="inf1-instances",
        ),
        pytest.param(
            {"image_uri": "709825985650.dkr.ecr.us-east-1.amazonaws.com/seller/scorer:v1"},
            None,
            "models[0].image_uri",
            "AWS Marketplace container, which SageMaker's deployment guardrails do not support",
            id="marketplace-container",
        ),
        pytest.param(
            {
                **PACKAGED,
                "model_package_arn": "arn:aws:sagemaker:us-east-1:865070037744:model-package/"
                "seller-scorer-7f2e4c1a9b3d",
            },
            None,
            "models[0].model_package_arn",
            "AWS Marketplace model package. Marketplace packages are not served here "
            "(SageMaker's deployment guardrails do not support Marketplace containers",
            id="marketplace-package",
        ),
        pytest.param(
            SERVERLESS,
            {"mode": "rolling", "maximum_batch_size": {"value": 25}},
            "models[0].deployment.guardrails.mode",
            "SageMaker also excludes serverless endpoints from rolling updates",
            id="serverless-rolling",
        ),
        pytest.param(
            SERVERLESS,
            {"mode": "canary"},
            "models[0].deployment.guardrails.mode",
            "a serverless endpoint has none",
            id="serverless-canary",
        ),
        # Autoscaling interplay: the smallest fleet autoscaling allows bounds every step.
        pytest.param(
            {
                "initial_instance_count": 1,
                "autoscaling": {"min_capacity": 1, "max_capacity": 4, "max_requests_per_second": 9},
            },
            None,
            "models[0].deployment.guardrails.canary_size",
            "canary_size 10% of 1 instance(s) is the whole fleet (a step is at least one "
            "instance); run at least 2 instances",
            id="canary-on-one-instance",
        ),
        pytest.param(
            {},
            {"mode": "canary", "canary_size": {"type": "INSTANCE_COUNT", "value": 2}},
            "models[0].deployment.guardrails.canary_size",
            "canary_size of 2 instance(s) is over half of the smallest fleet (2)",
            id="canary-over-half",
        ),
        pytest.param(
            {
                "autoscaling": {
                    "min_capacity": 2,
                    "max_capacity": 20,
                    "target_invocations_per_instance": 500,
                }
            },
            {"mode": "linear", "linear_step_size": {"type": "INSTANCE_COUNT", "value": 1}},
            "models[0].deployment.guardrails.linear_step_size",
            "under 10% of the largest fleet (20); raise it to 2",
            id="linear-step-under-10-percent-of-max",
        ),
        pytest.param(
            {},
            {"mode": "rolling", "maximum_batch_size": {"value": 60}},
            "models[0].deployment.guardrails.maximum_batch_size",
            "maximum_batch_size is 60% but SageMaker allows 5-50%",
            id="rolling-batch-over-half",
        ),
        pytest.param(
            {},
            {"wait_interval_seconds": 3600, "maximum_execution_timeout_seconds": 3600},
            "models[0].deployment.guardrails.maximum_execution_timeout_seconds",
            "must be larger than the update's waits (7200 s for 10 instance(s))",
            id="timeout-under-the-bakes",
        ),
        pytest.param(
            {},
            {"mode": "canary", "linear_step_size": {"value": 20}},
            "models[0].deployment.guardrails",
            "linear_step_size does not apply to mode canary; remove it",
            id="field-of-another-mode",
        ),
        pytest.param(
            {},
            {"mode": "rolling", "maximum_batch_size": {"value": 20}, "termination_wait_seconds": 5},
            "models[0].deployment.guardrails",
            "termination_wait_seconds does not apply to mode rolling",
            id="termination-wait-of-rolling",
        ),
        pytest.param(
            {},
            {"mode": "linear"},
            "models[0].deployment.guardrails",
            "mode linear needs linear_step_size",
            id="linear-without-step",
        ),
        pytest.param(
            {},
            {"wait_interval_seconds": 3601},
            "models[0].deployment.guardrails.wait_interval_seconds",
            "must be at most 3600, not 3601",
            id="wait-over-an-hour",
        ),
        pytest.param(
            {"variant_name": "alltraffic"},
            None,
            "models[0].variant_name",
            "endpoint-guardrails keeps the variant named 'primary': SageMaker updates an "
            "endpoint in place only when the new config keeps the variant's name",
            id="variant-name",
        ),
    ],
)
def test_guardrails_errors_name_field_and_fix(
    tmp_path: Path, model: dict[str, Any], guardrails: dict[str, Any] | None, field: str, fix: str
) -> None:
    message = error_for(tmp_path, guarded(guardrails, **model))
    assert f"field {field!r}" in message
    assert fix in message


def test_guardrails_block_needs_the_strategy(tmp_path: Path) -> None:
    body = env_with({"deployment": {"guardrails": {"mode": "all-at-once"}}})
    message = error_for(tmp_path, body)
    assert "field 'models[0].deployment.guardrails'" in message
    assert "set deployment.strategy to endpoint-guardrails or remove guardrails" in message


@pytest.mark.parametrize("strategy", ["frontend-alias", "endpoint-guardrails"])
def test_serverless_package_model_is_accepted_under_both_strategies(
    tmp_path: Path, strategy: str
) -> None:
    """A serverless Model Registry model: all at once under endpoint-guardrails (its default
    outside production; a canary is refused above)."""
    model = {**SERVERLESS, **PACKAGED, "data_capture": {"enabled": False}}
    model["deployment"] = {
        "strategy": strategy,
        **({"guardrails": {"mode": "all-at-once"}} if strategy == "endpoint-guardrails" else {}),
    }
    env = load_environment(write_env(tmp_path, "prod", env_with(model, canary={"enabled": False})))
    assert env.strategy_for(env.models[0]) == strategy


def test_a_serverless_model_defaults_to_all_at_once_even_in_production(tmp_path: Path) -> None:
    model = {**SERVERLESS, "data_capture": {"enabled": False}, "deployment": GUARDED}
    env = load_environment(write_env(tmp_path, "prod", env_with(model, canary={"enabled": False})))
    settings = env.guardrails_for(env.models[0])
    assert env.production and settings is not None and settings.mode == "all-at-once"


def test_guardrails_settings_never_change_the_fingerprint(tmp_path: Path) -> None:
    plain = load_environment(write_env(tmp_path, "prod", env_with({})))
    native = load_environment(write_env(tmp_path, "prod", guarded({"mode": "all-at-once"})))
    assert plain.models[0].fingerprint() == native.models[0].fingerprint()


def test_policy_arithmetic() -> None:
    """SageMaker turns whole instances on: a 10% canary of 2 instances is one instance, half
    the traffic; a successful update bakes once per step."""
    canary = EndpointUpdatePolicy(
        mode="canary", wait_interval_seconds=300, canary_size=CapacitySize("CAPACITY_PERCENT", 10)
    )
    assert canary.first_step_share(2) == 0.5
    assert canary.first_step_share(10) == 0.1
    assert canary.baking_seconds(2) == 600
    linear = EndpointUpdatePolicy(
        mode="linear",
        wait_interval_seconds=120,
        linear_step_size=CapacitySize("INSTANCE_COUNT", 2),
        termination_wait_seconds=60,
    )
    assert (linear.steps(8), linear.baking_seconds(8)) == (4, 4 * 120 + 60)
    with pytest.raises(PolicyError) as raised:
        EndpointUpdatePolicy(mode="all-at-once", wait_interval_seconds=-1)
    assert raised.value.field == "wait_interval_seconds"


# --- ProdStack's endpoint-guardrails model -----------------------------------------------------


def by_path(template: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in template["Resources"].items()
        if v.get("Metadata", {}).get("aws:cdk:path") == path
    ]
    return found


def test_endpoint_has_a_stable_name_and_the_production_canary(synthesized: Synthesized) -> None:
    template = synthesized.templates["ProdStack"]
    prefix = f"ProdStack/{NATIVE.name}/"
    _, endpoint = by_path(template, prefix + "Endpoint/Resource")
    properties = endpoint["Properties"]
    assert properties["EndpointName"] == f"prod-{NATIVE.name}"
    five_xx, latency = (
        by_path(template, f"{prefix}EndpointRollbackAlarms/{check}/Resource")[0]
        for check in ("Endpoint5XXRatio", "ModelLatencyP99")
    )
    assert properties["DeploymentConfig"] == {
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": {"Ref": five_xx}}, {"AlarmName": {"Ref": latency}}]
        },
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
            }
        },
    }
    # Autoscaling sizes the variant: the new fleet starts at its current size.
    assert properties["RetainAllVariantProperties"] is True


def test_endpoint_rollback_alarms_judge_ratios_of_the_new_fleet_only(
    synthesized: Synthesized,
) -> None:
    """As AWS's guardrails example of an alarm on the new fleet: the metrics carry this
    version's endpoint config name, so the old fleet's errors never stop an update."""
    template = synthesized.templates["ProdStack"]
    prefix = f"ProdStack/{NATIVE.name}/"
    config, _ = by_path(template, prefix + "Endpoint/EndpointConfig")
    five_xx_id, five_xx = by_path(
        template, prefix + "EndpointRollbackAlarms/Endpoint5XXRatio/Resource"
    )
    metrics = {m["Id"]: m for m in five_xx["Properties"]["Metrics"]}
    expression = next(m for m in metrics.values() if "Expression" in m)["Expression"]
    assert expression == "IF(n >= 3, FILL(e, 0) / n, 0)"
    assert five_xx["Properties"]["Threshold"] == 0.02
    assert five_xx["Properties"]["TreatMissingData"] == "notBreaching"
    new_fleet = {
        "EndpointName": f"prod-{NATIVE.name}",
        "VariantName": "primary",
        "EndpointConfigName": {"Fn::GetAtt": [config, "EndpointConfigName"]},
    }
    for metric in ("e", "n"):
        dimensions = metrics[metric]["MetricStat"]["Metric"]["Dimensions"]
        assert {d["Name"]: d["Value"] for d in dimensions} == new_fleet
    latency_id, latency = by_path(
        template, prefix + "EndpointRollbackAlarms/ModelLatencyP99/Resource"
    )
    assert latency["Properties"]["Threshold"] == NATIVE.alarms.model_latency_p99_ms * 1000
    for metric in latency["Properties"]["Metrics"]:
        if "MetricStat" in metric:
            dimensions = metric["MetricStat"]["Metric"]["Dimensions"]
            assert {d["Name"]: d["Value"] for d in dimensions} == new_fleet
    # Named after the endpoint, stable across versions: a model change updates them in place
    # (their EndpointConfigName) before the endpoint, which waits for them.
    assert five_xx["Properties"]["AlarmName"] == f"prod-{NATIVE.name}-rollback-endpoint-5xx-ratio"
    _, endpoint = by_path(template, prefix + "Endpoint/Resource")
    assert {five_xx_id, latency_id} <= set(endpoint.get("DependsOn", []))


def test_execution_role_may_describe_the_rollback_alarms(synthesized: Synthesized) -> None:
    """SageMaker asks that the execution role may DescribeAlarms on the rollback alarms (by
    their literal ARNs: a reference would make the role wait for the alarms)."""
    template = synthesized.templates["ProdStack"]
    prefix = f"ProdStack/{NATIVE.name}/"
    _, policy = by_path(
        template,
        f"{prefix}Endpoint/ExecutionRole-prod-{NATIVE.name}-{NATIVE.fingerprint()}/"
        "DefaultPolicy/Resource",
    )
    (described,) = [
        s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "cloudwatch:DescribeAlarms"
    ]
    names = [render(arn).rsplit(":", 1)[-1] for arn in described]
    assert names == [
        f"prod-{NATIVE.name}-rollback-endpoint-5xx-ratio",
        f"prod-{NATIVE.name}-rollback-model-latency-p99",
    ]


def test_frontend_shift_watches_only_the_new_versions_own_errors(
    synthesized: Synthesized,
) -> None:
    """A front-end code change still shifts ``live`` through CodeDeploy: the rollback alarm is
    the new version's Lambda errors per request (the front end's model metrics carry one
    ModelVersion for all versions), no capacity matching (one endpoint), and the front end may
    invoke the one endpoint only."""
    template = synthesized.templates["ProdStack"]
    prefix = f"ProdStack/{NATIVE.name}/"
    _, group = by_path(template, prefix + "Deployment/DeploymentGroup/Resource")
    (alarm,) = group["Properties"]["AlarmConfiguration"]["Alarms"]
    ratio = template["Resources"][alarm["Name"]["Ref"]]["Properties"]
    metrics = {m["Id"]: m for m in ratio["Metrics"]}
    assert metrics["expr_1"]["Expression"] == "IF(n >= 3, FILL(errors, 0) / n, 0)"
    assert set(metrics) == {"expr_1", "errors", "n"}
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "Errors"
    _, pre = by_path(template, prefix + "Deployment/PreTrafficHook/Resource/Resource")
    assert not any(
        k.startswith("AUTOSCALING_") for k in pre["Properties"]["Environment"]["Variables"]
    )
    _, policy = by_path(template, prefix + "Frontend/Function/Role/DefaultPolicy/Resource")
    (invoke,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sagemaker:InvokeEndpoint"
    ]
    assert invoke["Resource"]["Fn::Join"][1][-1] == f":endpoint/prod-{NATIVE.name}"


# --- the other modes, in an app of their own --------------------------------------------------

OTHER_MODES = {
    "production": True,
    "canary": {"enabled": False},
    "deployment_strategy": "endpoint-guardrails",
    "models": [
        {
            "name": "scorer",
            **{k: v for k, v in PACKAGED.items() if v is not None},
            "serverless": {"memory_size_mb": 2048, "max_concurrency": 10},
            "deployment": {"guardrails": {"mode": "all-at-once", "wait_interval_seconds": 600}},
        },
        {
            "name": "ranker",
            "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:v3",
            "model_data_url": "s3://ml-models-prod/ranker/v3/model.tar.gz",
            "instance_type": "ml.g5.xlarge",
            "initial_instance_count": 8,
            "data_capture": {"enabled": False},
            "deployment": {
                "guardrails": {
                    "mode": "rolling",
                    "maximum_batch_size": {"type": "INSTANCE_COUNT", "value": 2},
                    "rollback_maximum_batch_size": {"value": 50},
                    "wait_interval_seconds": 120,
                    "maximum_execution_timeout_seconds": 3600,
                }
            },
        },
        {
            "name": "linear",
            "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/linear:v1",
            "model_data_url": "s3://ml-models-prod/linear/v1/model.tar.gz",
            "initial_instance_count": 4,
            "data_capture": {"enabled": False},
            "deployment": {
                "guardrails": {
                    "mode": "linear",
                    "linear_step_size": {"value": 25},
                    "termination_wait_seconds": 600,
                    "auto_rollback": False,
                }
            },
        },
    ],
}


@pytest.fixture(scope="module")
def other_modes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from app import build_app

    folder = tmp_path_factory.mktemp("environments")
    (folder / "staging.json").write_text(json.dumps(OTHER_MODES))
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(cli_app(outdir), environments_dir=folder)
    template: dict[str, Any] = app.synth().get_stack_by_name("StagingStack").template
    return outdir, template


def deployment_config(template: dict[str, Any], model: str) -> dict[str, Any]:
    _, endpoint = by_path(template, f"StagingStack/{model}/Endpoint/Resource")
    assert endpoint["Properties"]["EndpointName"] == f"staging-{model}"
    config: dict[str, Any] = endpoint["Properties"]["DeploymentConfig"]
    return config


def test_serverless_package_model_updates_all_at_once(
    other_modes: tuple[Path, dict[str, Any]],
) -> None:
    _, template = other_modes
    config = deployment_config(template, "scorer")
    assert config["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}
    }
    assert len(config["AutoRollbackConfiguration"]["Alarms"]) == 2
    _, model = by_path(template, "StagingStack/scorer/Endpoint/Model")
    assert model["Properties"]["Containers"] == [{"ModelPackageName": PACKAGE}]


def test_rolling_update_of_a_large_fleet(other_modes: tuple[Path, dict[str, Any]]) -> None:
    _, template = other_modes
    config = deployment_config(template, "ranker")
    assert config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        "WaitIntervalInSeconds": 120,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    assert "BlueGreenUpdatePolicy" not in config
    _, endpoint = by_path(template, "StagingStack/ranker/Endpoint/Resource")
    # No autoscaling: the new config's instance count applies.
    assert "RetainAllVariantProperties" not in endpoint["Properties"]


def test_linear_without_rollback_alarms(other_modes: tuple[Path, dict[str, Any]]) -> None:
    """``auto_rollback`` false: the update bakes, but nothing can stop it (to push a fix while
    the live model itself trips the alarms)."""
    _, template = other_modes
    assert deployment_config(template, "linear") == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 600,
        }
    }
    assert not [p for k, p in _paths(template) if "/linear/EndpointRollbackAlarms/" in p]


def _paths(template: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v["Metadata"]["aws:cdk:path"]) for k, v in template["Resources"].items()]


def test_other_modes_pass_nag_and_cfn_lint(other_modes: tuple[Path, dict[str, Any]]) -> None:
    outdir, _ = other_modes
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert (nag["conclusion"], nag["violations"]) == ("success", [])
    assert cfn_lint([str(outdir / "StagingStack.template.json")]) == []


def test_sagemakers_update_events_reach_the_alerts_topic(synthesized: Synthesized) -> None:
    """On-call hears of every step, bake and rollback of a guarded update, as CodeDeploy's
    outcomes are reported for frontend-alias models; only the guardrails endpoints' events."""
    template = synthesized.templates["ProdStack"]
    _, rule = by_path(template, "ProdStack/EndpointDeploymentNotifications/Rule/Resource")
    pattern = rule["Properties"]["EventPattern"]
    assert (pattern["source"], pattern["detail-type"]) == (
        ["aws.sagemaker"],
        ["SageMaker Endpoint Deployment State Change"],
    )
    (arn,) = pattern["resources"]
    assert arn["Fn::Join"][1][-1] == f":endpoint/prod-{NATIVE.name}"
    (target,) = rule["Properties"]["Targets"]
    topic, _ = by_path(template, "ProdStack/Alerts/Resource/Resource")
    assert target["Arn"] == {"Ref": topic}


def test_many_endpoints_are_reported_by_rules_within_eventbridges_pattern_quota() -> None:
    """EventBridge takes 2,048 characters of pattern; endpoints with the longest names and
    ARNs (the longest partition and region) go 14 to a rule."""
    stack = Stack(App(), "Many")
    prefix = "arn:aws-us-gov:sagemaker:ap-southeast-2:111111111111:endpoint/"
    arns = [prefix + f"e{n:02d}-".ljust(63, "x") for n in range(31)]
    notifications = EndpointDeploymentNotifications(
        stack, "Notifications", endpoint_arns=arns, topic=sns.Topic(stack, "Topic")
    )
    assert [rule.node.id for rule in notifications.rules] == ["Rule", "Rule2", "Rule3"]
    assert notifications.rule is notifications.rules[0]
    template = Template.from_stack(stack).to_json()
    patterns = [
        r["Properties"]["EventPattern"] for r in resources(template, "AWS::Events::Rule").values()
    ]
    reported = [pattern["resources"] for pattern in patterns]
    assert [len(chunk) for chunk in reported] == [14, 14, 3]
    assert [arn for chunk in reported for arn in chunk] == arns
    assert max(compact_length(pattern) for pattern in patterns) <= 2_048
