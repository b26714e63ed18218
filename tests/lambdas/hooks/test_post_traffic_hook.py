"""The AfterAllowTraffic hook, end to end through ``handler``.

CodeDeploy and Lambda are botocore Stubbers; CloudWatch and Application Auto Scaling are moto, so
metrics are real datapoints (green's AND blue's: only green's may count) and the capacity floor a
test ends with is read back from the emulated service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

# The hook's own package, importable as in Lambda (conftest puts the hook folders on sys.path).
import post_traffic.traffic
import pytest
from botocore.client import BaseClient
from botocore.stub import ANY, Stubber
from moto import mock_aws

from tests.lambdas.hooks.hook_fakes import (
    BLUE,
    CREATE_TIME,
    GREEN,
    VARIANT,
    FakeClock,
    FakeContext,
    capacity_of,
    expect_blue_green,
    expect_deployment,
    expect_report,
    expect_reverse_shift,
    hook_event,
    make_client,
    recorded_calls,
    register_target,
    stubbed,
)


@dataclass
class PostWorld:
    hook: ModuleType
    codedeploy: Stubber
    lambda_: Stubber
    cloudwatch: BaseClient
    autoscaling: BaseClient
    autoscaling_calls: list[tuple[str, dict[str, Any]]]
    clock: FakeClock
    context: FakeContext

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = self.hook.handler(hook_event(), self.context)
        return result

    def traffic(
        self, endpoint: str, *, invocations: float, errors: float = 0.0, at: datetime | None = None
    ) -> None:
        """Datapoints as SageMaker publishes them for one endpoint variant."""
        timestamp = at or CREATE_TIME + timedelta(seconds=30)
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": VARIANT},
        ]
        self.cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": timestamp,
                    "Value": value,
                    "Unit": "None",
                }
                for name, value in (("Invocations", invocations), ("Invocation5XXErrors", errors))
            ],
        )

    def expect_start(self) -> None:
        expect_deployment(self.codedeploy)
        # Only the target version's endpoint is needed, but resolving reads both.
        expect_blue_green(self.lambda_)


@pytest.fixture
def world(
    post_hook: ModuleType, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostWorld]:
    monkeypatch.setenv("VARIANT_NAME", VARIANT)
    monkeypatch.setenv("MIN_INVOCATIONS", "10")
    monkeypatch.setenv("MAX_5XX_RATIO", "0.01")
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    monkeypatch.setenv("METRICS_WAIT_SECONDS", "300")
    monkeypatch.setenv("METRICS_POLL_SECONDS", "30")
    clients = post_hook.Clients(
        codedeploy=make_client("codedeploy"),
        lambda_=make_client("lambda"),
        cloudwatch=make_client("cloudwatch"),
        autoscaling=make_client("application-autoscaling"),
    )
    monkeypatch.setattr(post_hook, "CLIENTS", clients)
    monkeypatch.setattr(post_hook, "CLOCK", clock)
    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        # The pre-traffic hook raised green's floor to blue's 3 instances.
        register_target(clients.autoscaling, GREEN, minimum=3, maximum=4)
        yield PostWorld(
            hook=post_hook,
            codedeploy=stack.enter_context(stubbed(clients.codedeploy)),
            lambda_=stack.enter_context(stubbed(clients.lambda_)),
            cloudwatch=clients.cloudwatch,
            autoscaling=clients.autoscaling,
            autoscaling_calls=stack.enter_context(recorded_calls(clients.autoscaling)),
            clock=clock,
            context=FakeContext(clock=clock, timeout_seconds=600),
        )


def test_enough_healthy_traffic_succeeds_and_restores_the_floor(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=120, errors=1)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded", result["reason"]
    assert "served 120 invocation(s)" in result["reason"]
    assert world.clock.sleeps == []
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)


def test_waits_for_lagging_metrics(world: PostWorld) -> None:
    def publish_late(clock: FakeClock) -> None:
        if len(clock.sleeps) == 2:
            world.traffic(GREEN, invocations=50)

    world.clock.on_sleep.append(publish_late)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.clock.sleeps == [30, 30]


def test_too_few_invocations_are_not_a_failure_on_a_quiet_api(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=4)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded", result["reason"]
    assert "served 4 invocation(s)" in result["reason"]
    assert "fewer than MIN_INVOCATIONS 10" in result["reason"]
    assert "a quiet API" in result["reason"]
    assert world.clock.elapsed == 300
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)


def test_the_lambda_time_budget_caps_the_wait(world: PostWorld) -> None:
    # 100 s - 30 s safety margin - 30 s kept for restoring the floor = 40 s to wait
    world.context.timeout_seconds = 100
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded"
    assert "served 0 invocation(s)" in result["reason"]
    assert world.clock.sleeps == [30, 10]
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)


def test_a_high_5xx_ratio_fails_at_once_and_restores_the_floor(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=100, errors=2)
    world.expect_start()
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert "2 of 100 invocations with 5xx errors" in result["reason"]
    assert world.clock.sleeps == []
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)


def test_errors_before_any_invocation_is_counted_fail(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=0, errors=1)
    world.expect_start()
    expect_report(world.codedeploy, "Failed")

    assert "ratio inf" in world.run()["reason"]


def test_only_greens_metrics_count(world: PostWorld) -> None:
    world.traffic(BLUE, invocations=5000, errors=900)  # blue is failing; green is not
    world.traffic(GREEN, invocations=12)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"


def test_blues_traffic_does_not_stand_in_for_greens(world: PostWorld) -> None:
    world.traffic(BLUE, invocations=5000)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert "served 0 invocation(s)" in world.run()["reason"]


def test_traffic_before_the_deployment_does_not_count(world: PostWorld) -> None:
    # A failed earlier attempt of the same version (same endpoint name) does not fail this one.
    world.traffic(GREEN, invocations=500, errors=400, at=CREATE_TIME - timedelta(minutes=5))
    world.traffic(GREEN, invocations=12)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded", result["reason"]
    assert "served 12 invocation(s)" in result["reason"]


def test_a_reverse_shift_passes_at_once_and_restores_the_floor(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=100, errors=100)  # not even looked at
    expect_reverse_shift(world.codedeploy, world.lambda_, back_to=GREEN, leaving=BLUE)
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded"
    assert "reverse shift back to version 3" in result["reason"]
    assert world.clock.sleeps == []
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)


def test_a_restore_that_keeps_failing_is_counted_for_its_alarm(
    world: PostWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODEL_NAME", "churn")
    monkeypatch.setenv("METRICS_NAMESPACE", "SafeSageMakerEndpoints")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "post-hook")  # must not become a dimension
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    with stubbed(world.autoscaling) as autoscaling:
        for _ in range(3):
            autoscaling.add_client_error(
                "describe_scalable_targets", service_error_code="ConcurrentUpdateException"
            )
        result = world.run()

    assert result["status"] == "Succeeded"  # the verdict stands
    assert world.clock.sleeps == [5, 5]  # three attempts
    documents = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]
    [document] = documents
    assert document["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "SafeSageMakerEndpoints",
            "Dimensions": [["ModelName"]],
            "Metrics": [{"Name": "CapacityFloorRestoreFailures", "Unit": "Count"}],
        }
    ]
    assert document["ModelName"] == "churn"
    assert document["CapacityFloorRestoreFailures"] == [1.0]


def test_a_failing_restore_still_reports(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    with stubbed(world.autoscaling) as autoscaling:
        autoscaling.add_client_error(
            "describe_scalable_targets", service_error_code="AccessDeniedException"
        )
        result = world.run()

    assert result["status"] == "Succeeded"


def test_a_failing_restore_after_a_failed_check_still_reports_failed(world: PostWorld) -> None:
    world.traffic(GREEN, invocations=100, errors=50)
    world.expect_start()
    expect_report(world.codedeploy, "Failed")

    with stubbed(world.autoscaling) as autoscaling:
        autoscaling.add_response(
            "describe_scalable_targets",
            {
                "ScalableTargets": [
                    {
                        "ServiceNamespace": "sagemaker",
                        "ResourceId": f"endpoint/{GREEN}/variant/{VARIANT}",
                        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                        "MinCapacity": 3,
                        "MaxCapacity": 4,
                        "RoleARN": "arn:aws:iam::123456789012:role/aas",
                        "CreationTime": CREATE_TIME,
                    }
                ]
            },
        )
        autoscaling.add_client_error(
            "register_scalable_target", service_error_code="ConcurrentUpdateException"
        )
        result = world.run()

    assert result["status"] == "Failed"
    assert "5xx errors" in result["reason"]


def test_a_floor_already_at_the_minimum_is_left_alone(world: PostWorld) -> None:
    register_target(world.autoscaling, GREEN, minimum=1, maximum=4)
    world.autoscaling_calls.clear()
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    world.run()

    assert [name for name, _ in world.autoscaling_calls] == ["DescribeScalableTargets"]


def test_green_without_a_scalable_target_needs_no_restore(world: PostWorld) -> None:
    world.autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/{GREEN}/variant/{VARIANT}",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )
    world.autoscaling_calls.clear()
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert [name for name, _ in world.autoscaling_calls] == ["DescribeScalableTargets"]


def test_without_autoscaling_env_the_floor_is_not_touched(
    world: PostWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTOSCALING_MIN_CAPACITY")
    world.autoscaling_calls.clear()
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.autoscaling_calls == []
    assert capacity_of(world.autoscaling, GREEN) == (3, 4)


def test_defaults_need_one_invocation(world: PostWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "MIN_INVOCATIONS",
        "MAX_5XX_RATIO",
        "METRICS_WAIT_SECONDS",
        "METRICS_POLL_SECONDS",
    ):
        monkeypatch.delenv(name)
    world.traffic(GREEN, invocations=1)
    world.expect_start()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"


def test_a_crash_reading_the_deployment_still_reports_failed(world: PostWorld) -> None:
    expect_deployment(world.codedeploy)
    world.lambda_.add_client_error(
        "get_function_configuration", service_error_code="ResourceNotFoundException"
    )
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert result["reason"].startswith("the hook crashed: ResourceNotFoundException")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MIN_INVOCATIONS", "0", "MIN_INVOCATIONS must be >= 1"),
        ("MAX_5XX_RATIO", "lots", "MAX_5XX_RATIO must be a number"),
        ("MAX_5XX_RATIO", "nan", "MAX_5XX_RATIO must be >= 0.0"),
        ("AUTOSCALING_MIN_CAPACITY", "-1", "AUTOSCALING_MIN_CAPACITY must be >= 0"),
        ("METRICS_POLL_SECONDS", "0", "METRICS_POLL_SECONDS must be >= 1.0"),
    ],
)
def test_bad_configuration_reports_failed(
    world: PostWorld, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    expect_report(world.codedeploy, "Failed")

    assert message in world.run()["reason"]


def test_missing_ids_are_not_reported(world: PostWorld) -> None:
    assert world.hook.handler({"DeploymentId": "d-1"}, world.context)["status"] is None


# --- the CloudWatch query itself ---------------------------------------------------------------


def test_query_reads_green_sums_per_minute_from_the_deployment_minute() -> None:
    cloudwatch = make_client("cloudwatch")
    start = CREATE_TIME.replace(second=0)
    end = start + timedelta(minutes=5)

    def query(query_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": metric,
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": GREEN},
                        {"Name": "VariantName", "Value": VARIANT},
                    ],
                },
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }

    expected = {
        "MetricDataQueries": [
            query("invocations", "Invocations"),
            query("errors5xx", "Invocation5XXErrors"),
        ],
        "StartTime": start,
        "EndTime": end,
    }
    with stubbed(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "invocations", "Values": [5.0, 7.0]},
                    {"Id": "errors5xx", "Values": [0.0, 1.0]},
                ],
                "NextToken": "page-2",
            },
            expected,
        )
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "invocations", "Values": [8.0]},
                    {"Id": "errors5xx", "Values": []},
                ]
            },
            {**expected, "NextToken": "page-2"},
        )
        counts = post_traffic.traffic.green_traffic(
            cloudwatch, endpoint=GREEN, variant=VARIANT, start=start, end=end
        )

    assert (counts.invocations, counts.errors_5xx) == (20.0, 1.0)


def test_the_query_window_starts_at_the_deployment_minute(
    world: PostWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows: list[tuple[datetime, datetime]] = []
    real = post_traffic.traffic.green_traffic

    def spy(cloudwatch: BaseClient, **kwargs: Any) -> Any:
        windows.append((kwargs["start"], kwargs["end"]))
        return real(cloudwatch, **kwargs)

    monkeypatch.setattr(post_traffic.traffic, "green_traffic", spy)
    world.traffic(GREEN, invocations=20)
    world.expect_start()
    expect_report(world.codedeploy, ANY)

    world.run()

    # createTime 10:15:42 -> from 10:15:00; now 10:16:42 -> up to the end of that minute
    assert windows == [
        (CREATE_TIME.replace(second=0), CREATE_TIME.replace(second=0) + timedelta(minutes=2))
    ]
