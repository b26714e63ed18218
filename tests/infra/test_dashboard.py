"""The operations dashboard: one per environment; its widgets name the right metrics, the live
endpoints by their literal names, every alarm of the stack and the canary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from safe_sagemaker.config import load_environments
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.operations_dashboard import DashboardModel, OperationsDashboard
from tests.conftest import Synthesized
from tests.infra.cfn_text import render, resources

ENVS = {env.name: env for env in load_environments()}
ENDPOINT_METRICS = {
    ("AWS/SageMaker", "Invocations"),
    ("AWS/SageMaker", "Invocation4XXErrors"),
    ("AWS/SageMaker", "Invocation5XXErrors"),
    ("AWS/SageMaker", "ModelLatency"),
    ("AWS/SageMaker", "OverheadLatency"),
    ("AWS/SageMaker", "InvocationsPerInstance"),
    ("/aws/sagemaker/Endpoints", "CPUUtilization"),
    ("/aws/sagemaker/Endpoints", "MemoryUtilization"),
}
# Serverless endpoints run no instances the dashboard could chart; they have a setup time.
SERVERLESS_ENDPOINT_METRICS = ENDPOINT_METRICS - {
    ("AWS/SageMaker", "InvocationsPerInstance"),
    ("/aws/sagemaker/Endpoints", "CPUUtilization"),
    ("/aws/sagemaker/Endpoints", "MemoryUtilization"),
} | {("AWS/SageMaker", "ModelSetupTime")}
FUNCTION_METRICS = {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"}


def body(synthesized: Synthesized, stack_name: str) -> dict[str, Any]:
    (dashboard,) = resources(
        synthesized.templates[stack_name], "AWS::CloudWatch::Dashboard"
    ).values()
    return dict(json.loads(render(dashboard["Properties"]["DashboardBody"])))


def metric_rows(dashboard: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, metric, dimensions, options) of every metric line of every graph."""
    rows = []
    for widget in dashboard["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], dict):  # a math expression
                continue
            options = line[-1] if isinstance(line[-1], dict) else {}
            values = line[:-1] if options else line
            namespace, name, *dimensions = values
            rows.append(
                (
                    namespace,
                    name,
                    dict(zip(dimensions[::2], dimensions[1::2], strict=True)),
                    options,
                )
            )
    return rows


@pytest.mark.parametrize("stack_name", ["DevStack", "ProdStack"])
def test_one_dashboard_per_environment(synthesized: Synthesized, stack_name: str) -> None:
    dashboards = resources(synthesized.templates[stack_name], "AWS::CloudWatch::Dashboard")
    assert len(dashboards) == 1


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_endpoint_widgets_name_the_live_endpoint_literally(
    synthesized: Synthesized, env_name: str
) -> None:
    env = ENVS[env_name]
    rows = metric_rows(body(synthesized, env.stack_name))
    for model in env.models:
        live = env.endpoint_name(model)
        shown = {
            (namespace, name)
            for namespace, name, dimensions, _ in rows
            if dimensions == {"EndpointName": live, "VariantName": model.variant_name}
        }
        expected = SERVERLESS_ENDPOINT_METRICS if model.serverless else ENDPOINT_METRICS
        assert shown == expected, live
    # No other endpoint (an old blue, a typo) is charted.
    named = {d["EndpointName"] for _, _, d, _ in rows if "EndpointName" in d}
    assert named == {env.endpoint_name(m) for m in env.models}


def test_latency_widgets_show_p99_and_instances_are_derived(synthesized: Synthesized) -> None:
    dashboard = body(synthesized, "ProdStack")
    rows = metric_rows(dashboard)
    for _, name, _, options in rows:
        if name in ("ModelLatency", "OverheadLatency"):
            assert options["stat"] == "p99"
    expressions = [
        line[0]["expression"]
        for widget in dashboard["widgets"]
        for line in widget["properties"].get("metrics", [])
        if isinstance(line[0], dict)
    ]
    assert expressions == ["invocations / perInstance"] * len(ENVS["prod"].models)


def test_api_widgets_show_count_errors_and_latency_percentiles(synthesized: Synthesized) -> None:
    rows = metric_rows(body(synthesized, "ProdStack"))
    api = [
        (name, options.get("stat")) for ns, name, dims, options in rows if ns == "AWS/ApiGateway"
    ]
    assert sorted(api) == sorted(
        [
            ("Count", "Sum"),
            ("4XXError", "Sum"),
            ("5XXError", "Sum"),
            ("Latency", "p50"),
            ("Latency", "p99"),
        ]
    )
    stages = {dims["Stage"] for ns, _, dims, _ in rows if ns == "AWS/ApiGateway"}
    assert len(stages) == 1


def test_front_end_widgets_cover_each_models_function(synthesized: Synthesized) -> None:
    template = synthesized.templates["ProdStack"]
    rows = metric_rows(body(synthesized, "ProdStack"))
    by_function: dict[str, set[str]] = {}
    for namespace, name, dims, options in rows:
        if namespace == "AWS/Lambda":
            by_function.setdefault(dims["FunctionName"], set()).add(name)
            if name == "Duration":
                assert options["stat"] == "p99"
    frontends = {
        f"<{logical_id}>"
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if "Frontend" in logical_id
    }
    assert set(by_function) == frontends
    assert len(frontends) == len(ENVS["prod"].models)
    assert all(metrics == FUNCTION_METRICS for metrics in by_function.values())


@pytest.mark.parametrize("stack_name", ["DevStack", "ProdStack"])
def test_alarm_widget_shows_every_alarm_of_the_stack(
    synthesized: Synthesized, stack_name: str
) -> None:
    (widget,) = [w for w in body(synthesized, stack_name)["widgets"] if w["type"] == "alarm"]
    alarms = resources(synthesized.templates[stack_name], "AWS::CloudWatch::Alarm")
    assert sorted(widget["properties"]["alarms"]) == sorted(f"<{a}.Arn>" for a in alarms)


def test_canary_success_is_charted_in_prod_only(synthesized: Synthesized) -> None:
    (canary_id,) = resources(synthesized.templates["ProdStack"], "AWS::Synthetics::Canary")
    prod_rows = metric_rows(body(synthesized, "ProdStack"))
    assert ("CloudWatchSynthetics", "SuccessPercent", {"CanaryName": f"<{canary_id}>"}) in [
        row[:3] for row in prod_rows
    ]
    assert not any(
        ns == "CloudWatchSynthetics" for ns, *_ in metric_rows(body(synthesized, "DevStack"))
    )


# --- the construct on its own ----------------------------------------------------------------


def test_construct_needs_a_model_and_shows_alarms_100_a_widget() -> None:
    stack = Stack(App(), "Lib")
    endpoint = ModelEndpoint(
        stack,
        "Endpoint",
        endpoint_name="lib-endpoint",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:v1",
        model_data_url="s3://models-bucket/model.tar.gz",
    )
    with pytest.raises(ValueError, match="at least one model"):
        OperationsDashboard(stack, "Empty", models=[])
    metric = endpoint.metric_invocations()
    alarms = [
        cloudwatch.Alarm(stack, f"A{n}", metric=metric, threshold=1, evaluation_periods=1)
        for n in range(101)
    ]
    crowded = OperationsDashboard(
        stack, "Crowded", models=[DashboardModel("m", endpoint)], alarms=alarms
    )
    body = json.loads(render(stack.resolve(crowded.dashboard.node.default_child.dashboard_body)))
    status = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert [w["properties"]["title"] for w in status] == ["Alarms (1/2)", "Alarms (2/2)"]
    assert [len(w["properties"]["alarms"]) for w in status] == [100, 1]
