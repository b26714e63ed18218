"""watch: the pure rules, then the command against moto's CodeDeploy, CloudWatch and Lambda
(stack resources and outputs through Stubber) with requests to the local fake API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest

from safe_sagemaker.cli.errors import CliError
from safe_sagemaker.cli.rollout_reader import follow
from safe_sagemaker.cli.rollout_state import (
    ROLLED_BACK,
    SUCCEEDED,
    Snapshot,
    alias_weights,
    outcome,
    rollout_target,
)
from tests.cli.conftest import DEV_BLUE, Run, one_line_error, stub_missing_stack, stub_outputs
from tests.cli.fake_api import FakeApi
from tests.cli.rollout_world import (
    ALARMS,
    APPLICATION,
    FUNCTION,
    GROUP,
    World,
    build_world,
    stack_resources,
    stub_resources,
)
from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime


def test_rollout_target_from_cdk_logical_ids() -> None:
    target = rollout_target(stack_resources(), "fraud-detector", "DevStack")
    assert (target.application, target.deployment_group) == (APPLICATION, GROUP)
    assert (target.function, target.alias) == (FUNCTION, "live")
    assert target.alarms == ALARMS  # the rollback alarms only, not the endpoint's
    with pytest.raises(CliError, match="no CodeDeploy deployment group for model 'churn-xgboost'"):
        rollout_target(stack_resources(), "churn-xgboost", "DevStack")


def test_outcomes_and_weights() -> None:
    assert [outcome(s) for s in ("Succeeded", "Failed", "Stopped", "InProgress", None)] == [
        SUCCEEDED, ROLLED_BACK, ROLLED_BACK, None, None,
    ]  # fmt: skip
    assert alias_weights({"FunctionVersion": "7"}) == {"7": 1.0}
    weights = alias_weights(
        {"FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}}}
    )
    assert weights == {"7": 0.9, "8": 0.1}


def test_follow_stops_at_the_outcome_or_the_timeout() -> None:
    statuses = iter(["Created", "InProgress", "InProgress", "Stopped", "never read"])
    seen: list[str | None] = []
    now = [0.0]
    last = follow(
        lambda: Snapshot(status=next(statuses)),
        interval=5,
        timeout=60,
        on_snapshot=lambda s: seen.append(s.status),
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
    )
    assert (last.outcome, seen) == (ROLLED_BACK, ["Created", "InProgress", "InProgress", "Stopped"])
    now[0] = 0.0
    last = follow(
        lambda: Snapshot(status="InProgress"), interval=5, timeout=12, on_snapshot=lambda s: None,
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds), clock=lambda: now[0],
    )  # fmt: skip
    assert last.outcome is None and now[0] == 15


@pytest.fixture
def world(moto: None) -> World:
    return build_world()


@pytest.fixture
def api(runtime: FakeSageMakerRuntime) -> Iterator[FakeApi]:
    with FakeApi(runtime.url, choose=lambda: DEV_BLUE) as fake:
        yield fake


def test_a_rollback_exits_1_with_hooks_alarms_and_weights(
    run: Run, world: World, cloudformation: Any
) -> None:
    stub_resources(cloudformation)
    world.set_status("Stopped")
    result = run(
        "watch", "fraud-detector", "--env", "dev", "--no-requests", "--interval", 0, "--json"
    )
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert (document["deployment_id"], document["status"]) == (world.deployment_id, "Stopped")
    assert document["outcome"] == ROLLED_BACK
    assert document["alias_weights"] == {"1": 0.9, "2": 0.1}
    assert (
        document["alarms"] == {ALARMS[0]: "OK", ALARMS[1]: "ALARM"}
        or document["alarms"][ALARMS[1]] == "ALARM"
    )


def test_a_success_exits_0_and_tallies_who_answered(
    run: Run, world: World, cloudformation: Any, api: FakeApi
) -> None:
    stub_resources(cloudformation)
    stub_outputs(cloudformation, "DevStack", {"InvokeUrlfrauddetector": api.url("fraud-detector")})
    # The deployment ends once answers flow, however busy the machine: a fixed delay, or the
    # first request's arrival, let it end before watch had tallied any answer.
    stop = threading.Event()

    def succeed_after_first_request() -> None:
        while not stop.wait(0.01):
            if api.answered >= 3:
                world.set_status("Succeeded")
                return

    thread = threading.Thread(target=succeed_after_first_request, daemon=True)
    thread.start()
    try:
        result = run("watch", "fraud-detector", "--env", "dev", "--rate", 20, "--interval", 0.05)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith(
        f"fraud-detector: deployment {world.deployment_id} succeeded; {DEV_BLUE} "
    )
    assert "0.0% errors" in summary
    assert api.headers and api.headers[0]["authorization"].startswith("AWS4-HMAC-SHA256")


def test_still_running_at_the_timeout_exits_3(run: Run, world: World, cloudformation: Any) -> None:
    stub_resources(cloudformation)
    result = run(
        "watch", "fraud-detector", "--env", "dev", "--no-requests", "--timeout", 0, "--json"
    )
    assert result.exit_code == 3
    assert json.loads(result.stdout)["status"] == "InProgress"


def test_missing_stack(run: Run, cloudformation: Any) -> None:
    stub_missing_stack(cloudformation, "list_stack_resources", "DevStack")
    result = run("watch", "fraud-detector", "--env", "dev")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: stack DevStack not found in us-east-1")


def test_missing_credentials(run: Run, no_credentials: None) -> None:
    result = run("watch", "fraud-detector", "--env", "dev")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: no AWS credentials found")


def test_hook_results_come_from_the_lambda_target(stub: Any) -> None:
    from safe_sagemaker.cli.context import Context
    from safe_sagemaker.cli.rollout_reader import RolloutReader

    codedeploy = stub("codedeploy")
    codedeploy.add_response(
        "list_deployment_targets", {"targetIds": ["fn:live"]}, {"deploymentId": "d-1"}
    )
    codedeploy.add_response(
        "batch_get_deployment_targets",
        {
            "deploymentTargets": [
                {
                    "deploymentTargetType": "LambdaTarget",
                    "lambdaTarget": {
                        "lifecycleEvents": [
                            {"lifecycleEventName": "BeforeAllowTraffic", "status": "Succeeded"},
                            {"lifecycleEventName": "AllowTraffic", "status": "InProgress"},
                        ]
                    },
                }
            ]
        },
        {"deploymentId": "d-1", "targetIds": ["fn:live"]},
    )
    reader = RolloutReader(
        Context(region="us-east-1"), rollout_target(stack_resources(), "fraud-detector", "DevStack")
    )
    assert reader.hooks("d-1") == [
        ("BeforeAllowTraffic", "Succeeded"),
        ("AllowTraffic", "InProgress"),
    ]


def test_the_latest_deployment_is_the_newest_of_every_page(world: World) -> None:
    """ListDeployments documents no order and pages its answer; BatchGetDeployments takes 25
    ids. A group with a long history (30 deployments here) still gives its newest one."""
    from datetime import datetime, timedelta

    import boto3
    from moto.codedeploy.models import codedeploy_backends

    from safe_sagemaker.cli.context import Context
    from safe_sagemaker.cli.rollout_reader import RolloutReader
    from tests.cli.rollout_world import ACCOUNT, APPLICATION, GROUP, REGION

    codedeploy = boto3.client("codedeploy", region_name=REGION)
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}}
    ids = [world.deployment_id] + [
        codedeploy.create_deployment(
            applicationName=APPLICATION, deploymentGroupName=GROUP, revision=revision
        )["deploymentId"]
        for _ in range(29)
    ]
    # Distinct creation times, one minute apart in the order of creation (moto keeps them naive).
    start = datetime(2026, 12, 1, tzinfo=UTC)
    deployments = codedeploy_backends[ACCOUNT][REGION].deployments
    for minute, deployment_id in enumerate(ids):
        deployments[deployment_id].create_time = (start + timedelta(minutes=minute)).replace(
            tzinfo=None
        )
    reader = RolloutReader(
        Context(region=REGION), rollout_target(stack_resources(), "fraud-detector", "DevStack")
    )
    latest = reader.latest_deployment()
    assert latest is not None and latest["deploymentId"] == ids[-1]
    since = reader.latest_deployment(created_after=start + timedelta(minutes=28, seconds=30))
    assert since is not None and since["deploymentId"] == ids[-1]
    assert reader.latest_deployment(created_after=start + timedelta(hours=1)) is None
