"""The blue/green front end on the real app: function, version, alias ``live``, CodeDeploy
deployment group with both hooks, green-only rollback alarms, least-privilege IAM, deployment
notifications. Reads the session's synthesized templates (see tests/conftest.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from safe_sagemaker.config import (
    FINGERPRINT_LENGTH,
    EnvironmentConfig,
    ModelConfig,
    load_environments,
)
from safe_sagemaker.iam_patterns import iam_pattern_matches
from tests.conftest import Synthesized

ENVS = {env.name: env for env in load_environments()}
PROD = ENVS["prod"]
DEV = ENVS["dev"]
CASES = [(env, model) for env in (PROD, DEV) for model in env.models]
CASE_IDS = [f"{env.name}-{model.name}" for env, model in CASES]
# frontend-alias models: green is a new endpoint (endpoint-guardrails: test_endpoint_guardrails).
ALIAS_CASES = [(env, model) for env, model in CASES if not env.endpoint_native(model)]
ALIAS_IDS = [f"{env.name}-{model.name}" for env, model in ALIAS_CASES]
# Stand-ins for the pseudo parameters when an ARN is rendered to test what IAM would match.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def resources(synthesized: Synthesized, env: EnvironmentConfig, kind: str) -> dict[str, Any]:
    template = synthesized.templates[env.stack_name]
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def one(found: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    assert len(found) == 1, sorted(found)
    ((logical_id, resource),) = found.items()
    return logical_id, resource


def by_description(
    synthesized: Synthesized, env: EnvironmentConfig, kind: str, description: str
) -> tuple[str, dict[str, Any]]:
    return one(
        {
            k: v
            for k, v in resources(synthesized, env, kind).items()
            if v["Properties"].get("Description") == description
        }
    )


def frontend(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> tuple[str, dict[str, Any]]:
    description = f"Front end of model {model.name}: calls endpoint {env.endpoint_name(model)}"
    return by_description(synthesized, env, "AWS::Lambda::Function", description)


def hook(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig, event: str
) -> tuple[str, dict[str, Any]]:
    description = f"CodeDeploy {event} hook of model {model.name}"
    return by_description(synthesized, env, "AWS::Lambda::Function", description)


def alias_of(synthesized: Synthesized, env: EnvironmentConfig, function_id: str) -> dict[str, Any]:
    aliases = resources(synthesized, env, "AWS::Lambda::Alias")
    return one(
        {k: v for k, v in aliases.items() if v["Properties"]["FunctionName"] == ref(function_id)}
    )[1]


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def role_statements(
    synthesized: Synthesized, env: EnvironmentConfig, function: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every statement of the function's role: inline and in attached policies."""
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources(synthesized, env, "AWS::IAM::Role")[role_id]
    documents = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    policies = resources(synthesized, env, "AWS::IAM::Policy")
    documents += [
        p["Properties"]["PolicyDocument"]
        for p in policies.values()
        if ref(role_id) in p["Properties"]["Roles"]
    ]
    return [statement for document in documents for statement in document["Statement"]]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def render(value: Any) -> str:
    """An ARN as IAM would see it, with example pseudo parameters."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return PSEUDO.get(value["Ref"], f"<{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    separator, parts = value["Fn::Join"]
    return str(separator).join(render(part) for part in parts)


def endpoint_arn(name: str, account: str = PSEUDO["AWS::AccountId"]) -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:endpoint/{name}"


def with_new_model_data(env: EnvironmentConfig, model: ModelConfig) -> ModelConfig:
    """The next version of the model: new artifact, or the next version of its package."""
    if model.model_package_arn is not None:
        group, version = model.model_package_arn.rsplit("/", 1)
        return model.model_copy(update={"model_package_arn": f"{group}/{int(version) + 1}"})
    return model.model_copy(update={"model_data_url": model.model_data_url + ".v2"})


# --- function, version, alias -------------------------------------------------------------


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_frontend_names_exactly_one_endpoint_as_a_literal(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    _, function = frontend(synthesized, env, model)
    properties = function["Properties"]
    assert properties["Environment"]["Variables"] == {
        "ENDPOINT_NAME": env.endpoint_name(model),
        "MODEL_NAME": model.name,
        "MODEL_VERSION": model.fingerprint(),
        "ALLOWED_CONTENT_TYPES": ",".join(model.allowed_content_types),
        "METRICS_NAMESPACE": "SafeSageMakerEndpoints",
        "POWERTOOLS_SERVICE_NAME": f"{model.name}-frontend",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "LOG_REQUEST_BODY": "false",
    }
    assert properties["Handler"] == "handler.handler"
    assert properties["Runtime"] == "python3.14"
    assert properties["Timeout"] == 29  # API Gateway's integration limit
    assert properties["TracingConfig"] == {"Mode": "Active"}
    # Only where configured (reserved_concurrency); see test_security.
    assert properties.get("ReservedConcurrentExecutions") == model.reserved_concurrency


@pytest.mark.parametrize(("env", "model"), CASES, ids=CASE_IDS)
def test_frontend_is_updated_only_after_its_endpoint(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    endpoints = resources(synthesized, env, "AWS::SageMaker::Endpoint")
    (endpoint_id,) = [
        k
        for k, v in endpoints.items()
        if v["Properties"]["EndpointName"] == env.endpoint_name(model)
    ]
    function_id, function = frontend(synthesized, env, model)
    assert endpoint_id in function["DependsOn"]
    versions = resources(synthesized, env, "AWS::Lambda::Version")
    _, version = one(
        {k: v for k, v in versions.items() if v["Properties"]["FunctionName"] == ref(function_id)}
    )
    assert endpoint_id in version["DependsOn"]


@pytest.mark.parametrize(("env", "model"), CASES, ids=CASE_IDS)
def test_frontend_logs_to_its_own_encrypted_log_group(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    _, function = frontend(synthesized, env, model)
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = resources(synthesized, env, "AWS::Logs::LogGroup")[log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == env.log_retention_days
    assert "KmsKeyId" in log_group["Properties"]
    log_statements = [s for s in role_statements(synthesized, env, function) if "logs:" in str(s)]
    assert [s["Resource"] for s in log_statements] == [{"Fn::GetAtt": [log_group_id, "Arn"]}]


@pytest.mark.parametrize(("env", "model"), CASES, ids=CASE_IDS)
def test_alias_live_shifts_through_codedeploy_with_both_hooks(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    function_id, _ = frontend(synthesized, env, model)
    alias = alias_of(synthesized, env, function_id)
    assert alias["Properties"]["Name"] == "live"
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    version = resources(synthesized, env, "AWS::Lambda::Version")[version_id]
    assert version["Properties"]["FunctionName"] == ref(function_id)

    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    pre_id, _ = hook(synthesized, env, model, "BeforeAllowTraffic")
    post_id, _ = hook(synthesized, env, model, "AfterAllowTraffic")
    assert update["BeforeAllowTrafficHook"] == ref(pre_id)
    assert update["AfterAllowTrafficHook"] == ref(post_id)
    group_id = update["DeploymentGroupName"]["Ref"]
    group = resources(synthesized, env, "AWS::CodeDeploy::DeploymentGroup")[group_id]
    assert update["ApplicationName"] == group["Properties"]["ApplicationName"]


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_shift_waits_for_greens_scalable_target(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    function_id, _ = frontend(synthesized, env, model)
    alias = alias_of(synthesized, env, function_id)
    targets = resources(synthesized, env, "AWS::ApplicationAutoScaling::ScalableTarget")
    (mine,) = [
        k
        for k, v in targets.items()
        if v["Properties"]["ResourceId"].startswith(f"endpoint/{env.endpoint_name(model)}/")
    ] or [None]
    if model.autoscaling is None:
        assert mine is None
    else:
        assert mine in alias["DependsOn"]


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_shift_starts_only_after_what_the_deployment_relies_on(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """The alias update starts the deployment: the group, every (new) rollback alarm, the
    pre-traffic hook's continuation policy and the autoscaling are explicit dependencies."""
    function_id, _ = frontend(synthesized, env, model)
    depends_on = set(alias_of(synthesized, env, function_id)["DependsOn"])
    update = alias_of(synthesized, env, function_id)["UpdatePolicy"]
    assert update["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"] in depends_on
    for check in ROLLBACK_CHECKS:
        assert rollback_alarm(synthesized, env, model, check)[0] in depends_on
    continuation_id, _ = continuation_policy(synthesized, env, model)
    assert continuation_id in depends_on
    prefix = model.name.replace("-", "")
    autoscaling = {d for d in depends_on if d.startswith(f"{prefix}Autoscaling")}
    assert bool(autoscaling) == (model.autoscaling is not None)


def continuation_policy(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> tuple[str, dict[str, Any]]:
    policies = resources(synthesized, env, "AWS::IAM::Policy")
    return one(
        {
            k: v
            for k, v in policies.items()
            if v["Metadata"]["aws:cdk:path"]
            == f"{env.stack_name}/{model.name}/Deployment/PreTrafficHookContinuation/Resource"
        }
    )


@pytest.mark.parametrize(("env", "model"), CASES, ids=CASE_IDS)
def test_pre_traffic_hook_may_continue_only_in_itself(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """Waits longer than one run continue in a new invocation of the hook itself: one
    statement, its own ARN only, in a policy of its own attached to its role."""
    pre_id, pre = hook(synthesized, env, model, "BeforeAllowTraffic")
    policy_id, policy = continuation_policy(synthesized, env, model)
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [pre_id, "Arn"]},
        }
    ]
    assert policy["Properties"]["Roles"] == [ref(pre["Properties"]["Role"]["Fn::GetAtt"][0])]
    # Not in the role's default policy: the function would depend on itself.
    assert policy_id not in pre.get("DependsOn", [])


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_failed_capacity_floor_restore_alerts(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    alarms = resources(synthesized, env, "AWS::CloudWatch::Alarm")
    path = f"{env.stack_name}/{model.name}/Deployment/CapacityFloorRestoreFailed/Resource"
    found = {k: v for k, v in alarms.items() if v["Metadata"]["aws:cdk:path"] == path}
    if model.autoscaling is None:
        assert found == {}
        return
    _, alarm = one(found)
    topic_id, _ = one(resources(synthesized, env, "AWS::SNS::Topic"))
    properties = alarm["Properties"]
    assert {k: properties[k] for k in properties if k not in {"AlarmDescription", "Tags"}} == {
        "AlarmActions": [ref(topic_id)],
        "ComparisonOperator": "GreaterThanThreshold",
        "Dimensions": [{"Name": "ModelName", "Value": model.name}],
        "EvaluationPeriods": 1,
        "MetricName": "CapacityFloorRestoreFailures",
        "Namespace": "SafeSageMakerEndpoints",
        "Period": 300,
        "Statistic": "Sum",
        "Threshold": 0,
        "TreatMissingData": "notBreaching",
    }
    assert model.name in properties["AlarmDescription"]
    group = deployment_group(synthesized, env, model)
    watched = {a["Name"]["Ref"] for a in group["Properties"]["AlarmConfiguration"]["Alarms"]}
    assert not watched & set(found)  # it alerts; it never rolls a deployment back


# --- deployment group and rollback alarms ----------------------------------------------------


def deployment_group(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> dict[str, Any]:
    function_id, _ = frontend(synthesized, env, model)
    update = alias_of(synthesized, env, function_id)["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    groups = resources(synthesized, env, "AWS::CodeDeploy::DeploymentGroup")
    return dict(groups[update["DeploymentGroupName"]["Ref"]])


@pytest.mark.parametrize(
    ("env", "config"),
    [
        (PROD, "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
        (DEV, "CodeDeployDefault.LambdaAllAtOnce"),
    ],
    ids=["prod", "dev"],
)
def test_deployment_config_defaults_by_environment(
    synthesized: Synthesized, env: EnvironmentConfig, config: str
) -> None:
    for model in env.models:
        group = deployment_group(synthesized, env, model)
        assert group["Properties"]["DeploymentConfigName"] == config


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_deployment_group_rolls_back_on_failure_stop_and_alarm(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    properties = deployment_group(synthesized, env, model)["Properties"]
    assert properties["DeploymentStyle"] == {
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
        "DeploymentType": "BLUE_GREEN",
    }
    rollback = properties["AutoRollbackConfiguration"]
    assert rollback["Enabled"] is True
    assert set(rollback["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    }
    assert properties["AlarmConfiguration"]["Enabled"] is True
    alarms = resources(synthesized, env, "AWS::CloudWatch::Alarm")
    watched = [a["Name"]["Ref"] for a in properties["AlarmConfiguration"]["Alarms"]]
    assert sorted(watched) == sorted(
        rollback_alarm(synthesized, env, model, check)[0] for check in ROLLBACK_CHECKS
    )
    assert all(alarms[a]["Properties"]["AlarmActions"] for a in watched)


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_rollback_alarms_watch_only_what_is_new(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """Each alarm's dimensions hold something only green has: the green endpoint's literal
    name, the new version (ExecutedVersion of the alias), or the new fingerprint."""
    alarms = resources(synthesized, env, "AWS::CloudWatch::Alarm")
    function_id, _ = frontend(synthesized, env, model)
    version_id = alias_of(synthesized, env, function_id)["Properties"]["FunctionVersion"]
    group = deployment_group(synthesized, env, model)
    watched = [
        alarms[a["Name"]["Ref"]]["Properties"]
        for a in group["Properties"]["AlarmConfiguration"]["Alarms"]
    ]
    assert len(watched) == len(ROLLBACK_CHECKS)
    green = [
        {"Name": "EndpointName", "Value": env.endpoint_name(model)},
        {"Name": "VariantName", "Value": model.variant_name},
    ]
    new_version = [
        {"Name": "ExecutedVersion", "Value": version_id},
        {"Name": "FunctionName", "Value": ref(function_id)},
        {"Name": "Resource", "Value": {"Fn::Join": ["", [ref(function_id), ":live"]]}},
    ]
    # Exactly the dimensions the front end emits, with the new fingerprint.
    fingerprint = [
        {"Name": "ModelName", "Value": model.name},
        {"Name": "ModelVersion", "Value": model.fingerprint()},
    ]
    expected = {
        "Endpoint5XXRatio": {
            "e": ("AWS/SageMaker", "Invocation5XXErrors", "Sum", green),
            "n": ("AWS/SageMaker", "Invocations", "Sum", green),
        },
        "FrontendErrorRatio": {
            "model": ("SafeSageMakerEndpoints", "ModelErrors", "Sum", fingerprint),
            "timeouts": ("SafeSageMakerEndpoints", "ModelTimeouts", "Sum", fingerprint),
            "failures": ("SafeSageMakerEndpoints", "FrontendFailures", "Sum", fingerprint),
            "errors": ("AWS/Lambda", "Errors", "Sum", new_version),
            "n": ("AWS/Lambda", "Invocations", "Sum", new_version),
        },
        "ModelLatencyP99": {
            "p99": ("AWS/SageMaker", "ModelLatency", "p99", green),
            "n": ("AWS/SageMaker", "ModelLatency", "SampleCount", green),
        },
    }
    for check, queries in expected.items():
        _, alarm = rollback_alarm(synthesized, env, model, check)
        assert alarm in watched
        assert metric_queries(alarm) == {
            query_id: {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {"Dimensions": dims, "MetricName": name, "Namespace": namespace},
                    "Period": 60,
                    "Stat": stat,
                },
                "ReturnData": False,
            }
            for query_id, (namespace, name, stat, dims) in queries.items()
        }
    for alarm in watched:
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        # Blue's Lambda metrics (no ExecutedVersion) or blue's endpoint are never read.
        assert "MetricName" not in alarm


ROLLBACK_CHECKS = ("Endpoint5XXRatio", "FrontendErrorRatio", "ModelLatencyP99")
ALARM_NAME_CHECKS = {
    "Endpoint5XXRatio": "endpoint-5xx-ratio",
    "FrontendErrorRatio": "frontend-error-ratio",
    "ModelLatencyP99": "model-latency-p99",
}


def metric_queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The alarm's metric math inputs by id (the expression itself left out)."""
    return {q["Id"]: q for q in alarm["Metrics"] if "MetricStat" in q}


def expression(alarm: dict[str, Any]) -> dict[str, Any]:
    (query,) = [q for q in alarm["Metrics"] if "Expression" in q]
    return dict(query)


def rollback_alarm(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig, check: str
) -> tuple[str, dict[str, Any]]:
    """The deployment group's rollback alarm of ``check`` (its construct id)."""
    alarms = resources(synthesized, env, "AWS::CloudWatch::Alarm")
    group = deployment_group(synthesized, env, model)
    return one(
        {
            a["Name"]["Ref"]: alarms[a["Name"]["Ref"]]["Properties"]
            for a in group["Properties"]["AlarmConfiguration"]["Alarms"]
            if alarms[a["Name"]["Ref"]]["Metadata"]["aws:cdk:path"].endswith(
                f"/RollbackAlarms/{check}/Resource"
            )
        }
    )


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_rollback_alarms_are_named_by_the_new_version(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """Each deployment gets fresh alarms (a new name replaces the alarm): the name carries
    the number of the front end's current version, the one the alias shifts to."""
    function_id, _ = frontend(synthesized, env, model)
    version = alias_of(synthesized, env, function_id)["Properties"]["FunctionVersion"]
    for check, suffix in ALARM_NAME_CHECKS.items():
        _, alarm = rollback_alarm(synthesized, env, model, check)
        assert alarm["AlarmName"] == {
            "Fn::Join": [
                "",
                [f"{env.stack_name}-{model.name}-rollback-{suffix}-v", version],
            ]
        }


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_rollback_ratios_judge_only_periods_with_enough_requests(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    rollback = model.deployment.rollback_alarms
    assert (rollback.max_error_ratio, rollback.min_requests) == (0.02, 3)  # the defaults
    _, endpoint_ratio = rollback_alarm(synthesized, env, model, "Endpoint5XXRatio")
    _, frontend_ratio = rollback_alarm(synthesized, env, model, "FrontendErrorRatio")
    assert expression(endpoint_ratio) == {
        "Expression": "IF(n >= 3, FILL(e, 0) / n, 0)",
        "Id": "expr_1",
        "Label": "green 5xx ratio, 0 under 3 invocations",
        "ReturnData": True,
    }
    assert expression(frontend_ratio) == {
        "Expression": "IF(n >= 3, (FILL(model, 0) + FILL(timeouts, 0) + FILL(failures, 0)"
        " + FILL(errors, 0)) / n, 0)",
        "Id": "expr_1",
        "Label": "new version's failed share, 0 under 3 requests",
        "ReturnData": True,
    }
    for alarm in (endpoint_ratio, frontend_ratio):
        assert alarm["Threshold"] == 0.02
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        # The container's 4xx (the caller's bad input) never rolls back.
        assert "ModelClientErrors" not in json.dumps(alarm)
        assert "Invocation4XXErrors" not in json.dumps(alarm)


def rollback_latency_alarm(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> tuple[str, dict[str, Any]]:
    return rollback_alarm(synthesized, env, model, "ModelLatencyP99")


def test_rollback_latency_threshold_is_the_models_budget(synthesized: Synthesized) -> None:
    fraud = PROD.models[0]
    _, latency = rollback_latency_alarm(synthesized, PROD, fraud)
    assert latency["Threshold"] == fraud.alarms.model_latency_p99_ms * 1000


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_rollback_latency_judges_p99_only_over_enough_samples(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """The pre-traffic hook's few requests are green's first (a cold inference among them):
    their p99 must not roll a healthy model back, so under 20 samples a period the alarm
    sees 0."""
    logical_id, latency = rollback_latency_alarm(synthesized, env, model)
    assert "RollbackAlarmsModelLatencyP99" in logical_id
    assert "MetricName" not in latency
    assert "ExtendedStatistic" not in latency
    queries = {q["Id"]: q for q in latency["Metrics"]}
    assert set(queries) == {"expr_1", "p99", "n"}
    expression = queries.pop("expr_1")
    assert expression["Expression"] == "IF(n >= 20, p99, 0)"
    assert expression["ReturnData"] is True
    assert "20 samples" in expression["Label"]
    green = [
        {"Name": "EndpointName", "Value": env.endpoint_name(model)},
        {"Name": "VariantName", "Value": model.variant_name},
    ]
    for query_id, stat in (("p99", "p99"), ("n", "SampleCount")):
        assert queries[query_id] == {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Dimensions": green,
                    "MetricName": "ModelLatency",
                    "Namespace": "AWS/SageMaker",
                },
                "Period": 60,
                "Stat": stat,
            },
            "ReturnData": False,
        }
    assert latency["ComparisonOperator"] == "GreaterThanThreshold"
    assert latency["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_rollback_counts_every_frontend_failure_of_the_new_version(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    """Every 500 the front end answers (access denied: a misconfigured new version) is counted
    as FrontendFailures, which Lambda's Errors never see: it is part of the new version's
    failed share, over the requests that version served through the alias."""
    logical_id, ratio = rollback_alarm(synthesized, env, model, "FrontendErrorRatio")
    assert "RollbackAlarmsFrontendErrorRatio" in logical_id
    queries = metric_queries(ratio)
    assert queries["failures"]["MetricStat"]["Metric"] == {
        "Dimensions": [
            {"Name": "ModelName", "Value": model.name},
            {"Name": "ModelVersion", "Value": model.fingerprint()},
        ],
        "MetricName": "FrontendFailures",
        "Namespace": "SafeSageMakerEndpoints",
    }
    assert "FILL(failures, 0)" in expression(ratio)["Expression"]
    assert queries["n"]["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    assert ratio["ComparisonOperator"] == "GreaterThanThreshold"
    assert ratio["TreatMissingData"] == "notBreaching"


# --- IAM -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_frontend_may_invoke_this_models_endpoints_and_nothing_else(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    _, function = frontend(synthesized, env, model)
    statements = role_statements(synthesized, env, function)
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in actions(s))]
    assert [actions(s) for s in sagemaker] == [["sagemaker:InvokeEndpoint"]]
    pattern = render(sagemaker[0]["Resource"])
    assert pattern == endpoint_arn(f"{env.name}-{model.name}-" + "?" * FINGERPRINT_LENGTH)

    blue = env.endpoint_name(model)
    green = env.endpoint_name(with_new_model_data(env, model))
    assert blue != green
    for name in (blue, green):
        assert iam_pattern_matches(pattern, endpoint_arn(name)), name
    others = [
        f"{env.name}-{model.name}-v2-1a2b3c4d",  # a model whose name merely starts the same
        f"{env.name}-{model.name}-1a2b3c4d5",
        f"{env.name}-{model.name}-1a2b3c4",
        f"{env.name}-{model.name}-",
        blue.upper(),  # SageMaker lowercases names in ARNs; the pattern must be lowercase
        *(env.endpoint_name(m) for m in env.models if m.name != model.name),
        *(e.endpoint_name(m) for e in ENVS.values() if e.name != env.name for m in e.models),
    ]
    for name in others:
        assert not iam_pattern_matches(pattern, endpoint_arn(name)), name
    assert not iam_pattern_matches(pattern, endpoint_arn(blue, account="210987654321"))


PRE_ACTIONS = {
    "codedeploy:PutLifecycleEventHookExecutionStatus",
    "codedeploy:GetDeployment",
    "lambda:GetFunctionConfiguration",
    "lambda:InvokeFunction",  # the new version's sample requests, and its own continuation
    "sagemaker:DescribeEndpoint",
}
POST_ACTIONS = {
    "codedeploy:PutLifecycleEventHookExecutionStatus",
    "codedeploy:GetDeployment",
    "lambda:GetFunctionConfiguration",
    "cloudwatch:GetMetricData",
}
# Both hooks re-register green's scalable target when the model autoscales.
CAPACITY_ACTIONS = {
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DescribeScalableTargets",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
    "iam:CreateServiceLinkedRole",
}
LOGS_AND_TRACES = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
@pytest.mark.parametrize(
    ("event", "expected"),
    [("BeforeAllowTraffic", PRE_ACTIONS), ("AfterAllowTraffic", POST_ACTIONS)],
    ids=["pre", "post"],
)
def test_hooks_get_only_what_they_use(
    synthesized: Synthesized,
    env: EnvironmentConfig,
    model: ModelConfig,
    event: str,
    expected: set[str],
) -> None:
    hook_id, function = hook(synthesized, env, model, event)
    statements = role_statements(synthesized, env, function)
    granted = {a for s in statements for a in actions(s)}
    if model.autoscaling is not None:
        expected = expected | CAPACITY_ACTIONS
    assert granted == expected | LOGS_AND_TRACES

    function_id, _ = frontend(synthesized, env, model)
    group_id = alias_of(synthesized, env, function_id)["UpdatePolicy"][
        "CodeDeployLambdaAliasUpdate"
    ]["DeploymentGroupName"]["Ref"]
    for statement in statements:
        resource = render(statement["Resource"])
        if any(a.startswith("codedeploy:") for a in actions(statement)):
            assert resource.endswith(
                f":deploymentgroup:<{_application(synthesized, env)}>/<{group_id}>"
            )
            assert resource.startswith("arn:aws:codedeploy:us-east-1:123456789012:")
        elif statement["Resource"] == {"Fn::GetAtt": [hook_id, "Arn"]}:
            assert event == "BeforeAllowTraffic"  # continuation: the hook itself, nothing else
            assert actions(statement) == ["lambda:InvokeFunction"]
        elif any(a.startswith("lambda:") for a in actions(statement)):
            assert resource == f"<{function_id}.Arn>:*"  # this front end's versions only
        elif "sagemaker:DescribeEndpoint" in actions(statement):
            assert resource == endpoint_arn(env.endpoint_name_pattern(model))
        elif statement["Resource"] == "*":
            assert set(actions(statement)) <= {
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "cloudwatch:GetMetricData",
                "application-autoscaling:DescribeScalableTargets",
            }
        elif {
            "application-autoscaling:RegisterScalableTarget",
            "sagemaker:DescribeEndpointConfig",
        } & set(actions(statement)):
            # Held to this model's endpoint configs and scalable targets by their tag.
            assert statement["Condition"] == {
                "StringEquals": {
                    "aws:ResourceTag/safe-sagemaker:endpoints": env.endpoint_name_prefix(model)
                }
            }
        elif "iam:CreateServiceLinkedRole" in actions(statement):
            assert resource.endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
            assert statement["Condition"] == {
                "StringEquals": {
                    "iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"
                }
            }


def _application(synthesized: Synthesized, env: EnvironmentConfig) -> str:
    application_id, _ = one(resources(synthesized, env, "AWS::CodeDeploy::Application"))
    return application_id


# --- hooks' contract -------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "model"), ALIAS_CASES, ids=ALIAS_IDS)
def test_hook_environment_contract(
    synthesized: Synthesized, env: EnvironmentConfig, model: ModelConfig
) -> None:
    _, pre = hook(synthesized, env, model, "BeforeAllowTraffic")
    _, post = hook(synthesized, env, model, "AfterAllowTraffic")
    # Copies: the templates are shared by the whole session (the snapshot test reads them too).
    pre_env = dict(pre["Properties"]["Environment"]["Variables"])
    post_env = dict(post["Properties"]["Environment"]["Variables"])
    capacity: dict[str, str] = {}
    if model.autoscaling is not None:
        capacity = {
            "AUTOSCALING_MIN_CAPACITY": str(model.autoscaling.min_capacity),
            "AUTOSCALING_MAX_CAPACITY": str(model.autoscaling.max_capacity),
        }
    samples = json.loads(pre_env.pop("SAMPLE_REQUESTS"))
    assert samples == [s.hook_json() for s in model.pre_traffic_samples]
    assert pre_env == {
        "VARIANT_NAME": model.variant_name,
        "POWERTOOLS_SERVICE_NAME": f"{model.name}-pre-traffic-hook",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "CAPACITY_POLL_SECONDS": "20",
        "MAX_HOOK_SECONDS": "3300",  # 55 minutes over all runs, under CodeDeploy's hour
        **capacity,
    }
    capacity.pop("AUTOSCALING_MAX_CAPACITY", None)
    assert post_env == {
        "VARIANT_NAME": model.variant_name,
        "POWERTOOLS_SERVICE_NAME": f"{model.name}-post-traffic-hook",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "MODEL_NAME": model.name,
        "METRICS_NAMESPACE": "SafeSageMakerEndpoints",
        "MIN_INVOCATIONS": str(model.post_traffic_min_invocations),
        "MAX_5XX_RATIO": str(model.deployment.max_5xx_ratio),
        "METRICS_WAIT_SECONDS": str(model.deployment.metrics_wait_seconds),
        "METRICS_POLL_SECONDS": "30",
        **capacity,
    }
    for function in (pre, post):
        assert function["Properties"]["Timeout"] == 900
        assert function["Properties"]["Handler"] == "handler.handler"
        assert function["Properties"]["Runtime"] == "python3.14"


# --- shared per stack ------------------------------------------------------------------------


@pytest.mark.parametrize("env", [PROD, DEV], ids=["prod", "dev"])
def test_one_powertools_layer_per_stack_serves_every_function(
    synthesized: Synthesized, env: EnvironmentConfig
) -> None:
    layers = resources(synthesized, env, "AWS::Lambda::LayerVersion")
    (powertools_id,) = [
        k
        for k, v in layers.items()
        if v["Properties"]["Description"].startswith("aws_lambda_powertools==3.37.0")
    ]
    for model in env.models:
        functions = [
            frontend(synthesized, env, model)[1],
            hook(synthesized, env, model, "BeforeAllowTraffic")[1],
            hook(synthesized, env, model, "AfterAllowTraffic")[1],
        ]
        for function in functions:
            assert ref(powertools_id) in function["Properties"]["Layers"]


def test_powertools_layer_holds_the_installed_package_without_byte_code(
    synthesized: Synthesized,
) -> None:
    import zipfile

    (powertools,) = [
        v
        for v in resources(synthesized, PROD, "AWS::Lambda::LayerVersion").values()
        if v["Properties"]["Description"].startswith("aws_lambda_powertools")
    ]
    asset = synthesized.outdir / f"asset.{powertools['Properties']['Content']['S3Key']}"
    names = set(zipfile.ZipFile(asset).namelist())
    assert "python/aws_lambda_powertools/logging/logger.py" in names
    assert "python/aws_lambda_powertools/metrics/__init__.py" in names
    assert "python/typing_extensions.py" in names  # imported at runtime, not in Lambda
    assert not any(n.startswith("python/jmespath/") for n in names)  # the runtime's botocore's
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_function_code_assets_carry_no_caches(synthesized: Synthesized) -> None:
    for model in PROD.models:
        for _, function in (
            frontend(synthesized, PROD, model),
            hook(synthesized, PROD, model, "BeforeAllowTraffic"),
        ):
            asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
            folder = synthesized.outdir / f"asset.{asset_hash}"
            assert (folder / "handler.py").is_file()
            cached = [p for p in folder.rglob("*") if p.name in {"__pycache__", ".mypy_cache"}]
            assert cached == []


@pytest.mark.parametrize("env", [PROD, DEV], ids=["prod", "dev"])
def test_deployment_outcomes_reach_the_alerts_topic(
    synthesized: Synthesized, env: EnvironmentConfig
) -> None:
    template = synthesized.assertions[env.stack_name]
    application_id = _application(synthesized, env)
    topic_id, _ = one(resources(synthesized, env, "AWS::SNS::Topic"))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.codedeploy"],
                "detail-type": ["CodeDeploy Deployment State-change Notification"],
                "detail": {
                    "application": [ref(application_id)],
                    "state": ["SUCCESS", "FAILURE", "STOP"],
                },
            },
            "Targets": [Match.object_like({"Arn": ref(topic_id)})],
        },
    )
    # EventBridge publishes with the rule's own role: no key or topic policy has to trust it.
    rule = one(
        {
            k: v
            for k, v in resources(synthesized, env, "AWS::Events::Rule").items()
            if v["Properties"]["EventPattern"]["source"] == ["aws.codedeploy"]
        }
    )[1]
    (target,) = rule["Properties"]["Targets"]
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    policies = resources(synthesized, env, "AWS::IAM::Policy")
    (policy,) = [p for p in policies.values() if ref(role_id) in p["Properties"]["Roles"]]
    topic = resources(synthesized, env, "AWS::SNS::Topic")[topic_id]
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": ref(topic_id)},
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    ]


def test_served_model_exposes_the_alias_for_the_api(synthesized: Synthesized) -> None:
    from aws_cdk import aws_lambda as lambda_

    from safe_sagemaker.serving_stack import ModelServingStack

    stack = synthesized.app.node.find_child("ProdStack")
    assert isinstance(stack, ModelServingStack)
    for name, served in stack.models.items():
        assert isinstance(served.frontend.alias, lambda_.Alias), name
        assert served.frontend.alias.alias_name == "live"
        assert served.deployment.deployment_group is not None
        assert served.deployment.rollback_alarms == served.rollback_alarms.alarms
        # endpoint-guardrails: the front end's own errors only (SageMaker watches the model).
        assert len(served.deployment.rollback_alarms) == (1 if served.endpoint_native else 3)


# --- early validation of the constructs ------------------------------------------------------


@pytest.fixture
def endpoint() -> Any:
    from aws_cdk import App, Stack

    from safe_sagemaker.constructs.model_endpoint import ModelEndpoint

    stack = Stack(App(), "Validation")
    return ModelEndpoint(
        stack,
        "Endpoint",
        endpoint_name="prod-fraud-detector-1a2b3c4d",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:v1",
        model_data_url="s3://ml-models/fraud/model.tar.gz",
    )


def make_frontend(endpoint: Any, **props: Any) -> Any:
    """The front end of the validation fixture's endpoint (model fraud-detector, 1a2b3c4d)."""
    from safe_sagemaker.constructs.model_frontend import ModelFrontend

    return ModelFrontend(
        endpoint.node.scope,
        "Frontend",
        endpoint=endpoint,
        model_name="fraud-detector",
        model_version="1a2b3c4d",
        **props,
    )


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("prod-fraud-detector-????", "does not match the endpoint"),
        ("prod-churn-xgboost-????????", "does not match the endpoint"),
        ("Prod-Fraud-Detector-????????", "must be lowercase"),
    ],
)
def test_frontend_rejects_an_invoke_pattern_that_misses_its_endpoint(
    endpoint: Any, pattern: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        make_frontend(endpoint, endpoint_name_pattern=pattern)


def test_frontend_refuses_a_reservation_of_zero(endpoint: Any) -> None:
    """Zero reserved concurrency would throttle every request."""
    with pytest.raises(ValueError, match="reserved_concurrency must be at least 1"):
        make_frontend(endpoint, reserved_concurrency=0)


def test_frontend_refuses_an_endpoint_name_token(endpoint: Any) -> None:
    """A token would leave the function's configuration unchanged by a new model: no new
    version, no CodeDeploy deployment."""

    endpoint.endpoint_name = endpoint.endpoint.attr_endpoint_name
    with pytest.raises(ValueError, match="must be a literal"):
        make_frontend(endpoint)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"sample_requests": []}, "at least one sample request"),
        ({"min_invocations": 0}, "min_invocations"),
        ({"max_5xx_ratio": 1.5}, "max_5xx_ratio"),
        ({"metrics_wait_minutes": 15}, "shorter than the hook's 15-minute timeout"),
        ({"max_hook_seconds": 59}, "max_hook_duration must be at least a minute"),
        ({"max_hook_seconds": 3600}, "under CodeDeploy's one hour"),
    ],
)
def test_deployment_rejects_settings_the_hooks_cannot_honour(
    endpoint: Any, kwargs: dict[str, Any], error: str
) -> None:
    from aws_cdk import Duration

    from safe_sagemaker.constructs.blue_green_deployment import BlueGreenDeployment

    frontend = make_frontend(endpoint)
    if "metrics_wait_minutes" in kwargs:
        kwargs = {"metrics_wait": Duration.minutes(kwargs.pop("metrics_wait_minutes"))}
    if "max_hook_seconds" in kwargs:
        kwargs = {"max_hook_duration": Duration.seconds(kwargs.pop("max_hook_seconds"))}
    settings: dict[str, Any] = {"sample_requests": [{"contentType": "application/json"}]}
    with pytest.raises(ValueError, match=error):
        BlueGreenDeployment(
            endpoint.node.scope,
            "Deployment",
            frontend=frontend,
            endpoint=endpoint,
            layers=[],
            **{**settings, **kwargs},
        )


def test_rollback_alarms_take_their_minimums_and_error_ratio(endpoint: Any) -> None:
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

    from safe_sagemaker.constructs.rollback_alarms import GreenRollbackAlarms

    frontend = make_frontend(endpoint)
    alarms = GreenRollbackAlarms(
        endpoint.node.scope,
        "RollbackAlarms",
        endpoint=endpoint,
        frontend=frontend,
        model_latency_min_samples=50,
        max_error_ratio=0.05,
        min_requests=10,
    )
    assert alarms.alarms == [
        alarms.endpoint_5xx_ratio_alarm,
        alarms.frontend_error_ratio_alarm,
        alarms.model_latency_alarm,
    ]
    template = Template.from_stack(Stack.of(alarms))
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Metrics": Match.array_with(
                [Match.object_like({"Id": "expr_1", "Expression": "IF(n >= 50, p99, 0)"})]
            )
        },
    )
    template.resource_count_is("AWS::CloudWatch::Alarm", 3)
    for ratio in ("FILL(e, 0) / n", "(FILL(model, 0) + FILL(timeouts, 0) + FILL(failures, 0)"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "Threshold": 0.05,
                "Metrics": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Id": "expr_1",
                                "Expression": Match.string_like_regexp(
                                    r"^IF\(n >= 10, " + re.escape(ratio)
                                ),
                            }
                        )
                    ]
                ),
            },
        )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"model_latency_min_samples": 0}, "model_latency_min_samples must be at least 1"),
        ({"max_error_ratio": 0}, "max_error_ratio must be between 0 and 1, got 0"),
        ({"max_error_ratio": 1}, "max_error_ratio must be between 0 and 1, got 1"),
        ({"min_requests": 0}, "min_requests must be at least 1, got 0"),
    ],
)
def test_rollback_alarms_reject_unusable_settings(
    endpoint: Any, kwargs: dict[str, Any], error: str
) -> None:
    from safe_sagemaker.constructs.rollback_alarms import GreenRollbackAlarms

    frontend = make_frontend(endpoint)
    with pytest.raises(ValueError, match=error):
        GreenRollbackAlarms(
            endpoint.node.scope, "RollbackAlarms", endpoint=endpoint, frontend=frontend, **kwargs
        )
