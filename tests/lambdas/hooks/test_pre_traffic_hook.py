"""The BeforeAllowTraffic hook, end to end through ``handler`` with stubbed and moto clients.

CodeDeploy, Lambda and SageMaker are botocore Stubbers (moto has no lifecycle-hook status, runs
no Lambda without Docker and cannot make an endpoint scale); Application Auto Scaling is moto, so
the capacity a test ends with is read back from the emulated service. Every test asserts the
exact status sent to CodeDeploy: the Stubber refuses any other, and a fixture fails the test if
an expected call (the report above all) never happened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

# The hook's own package, importable as in Lambda (conftest puts the hook folders on sys.path).
import pre_traffic.check
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws

from tests.lambdas.hooks.hook_fakes import (
    BLUE,
    FUNCTION,
    GREEN,
    MODEL,
    VARIANT,
    FakeClock,
    FakeContext,
    appspec,
    capacity_of,
    expect_blue_green,
    expect_deployment,
    expect_endpoint,
    expect_report,
    expect_reverse_shift,
    expect_version_endpoint,
    hook_event,
    invoke_response,
    make_client,
    proxy_response,
    recorded_calls,
    register_target,
    stubbed,
)

JSON_SAMPLE = {
    "contentType": "application/json",
    "body": json.dumps({"features": [1, 2, 3]}),
    "expectStatus": 200,
    "expectContentType": "application/json",
    "expectJsonKeys": ["prediction"],
}
CSV_SAMPLE = {
    "contentType": "text/csv",
    "body": base64.b64encode(b"1,2,3\n").decode(),
    "bodyBase64": True,
    "accept": "application/json",
}


@dataclass
class PreWorld:
    hook: ModuleType
    codedeploy: Stubber
    lambda_: Stubber
    sagemaker: Stubber
    autoscaling: BaseClient
    autoscaling_calls: list[tuple[str, dict[str, Any]]]
    lambda_calls: list[tuple[str, dict[str, Any]]]
    clock: FakeClock
    context: FakeContext

    def run(self, event: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self.hook.handler(
            hook_event() if event is None else event, self.context
        )
        return result

    def invocations(self) -> list[dict[str, Any]]:
        """The proxy events sent to the new function version."""
        return [
            json.loads(params["Payload"]) for name, params in self.lambda_calls if name == "Invoke"
        ]

    def register_calls(self) -> list[dict[str, Any]]:
        return [p for name, p in self.autoscaling_calls if name == "RegisterScalableTarget"]

    def expect_samples_pass(self, count: int = 2) -> None:
        for _ in range(count):
            self.lambda_.add_response("invoke", invoke_response(proxy_response()))


@pytest.fixture
def world(
    pre_hook: ModuleType, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PreWorld]:
    monkeypatch.setenv("VARIANT_NAME", VARIANT)
    monkeypatch.setenv("AUTOSCALING_MIN_CAPACITY", "1")
    monkeypatch.setenv("AUTOSCALING_MAX_CAPACITY", "4")
    monkeypatch.setenv("CAPACITY_POLL_SECONDS", "20")
    monkeypatch.setenv("SAMPLE_REQUESTS", json.dumps([JSON_SAMPLE, CSV_SAMPLE]))
    clients = pre_hook.Clients(
        codedeploy=make_client("codedeploy"),
        lambda_=make_client("lambda"),
        sagemaker=make_client("sagemaker"),
        autoscaling=make_client("application-autoscaling"),
    )
    monkeypatch.setattr(pre_hook, "CLIENTS", clients)
    monkeypatch.setattr(pre_hook, "CLOCK", clock)
    with ExitStack() as stack:
        stack.enter_context(mock_aws())
        register_target(clients.autoscaling, GREEN, minimum=1, maximum=4)  # as the stack does
        yield PreWorld(
            hook=pre_hook,
            codedeploy=stack.enter_context(stubbed(clients.codedeploy)),
            lambda_=stack.enter_context(stubbed(clients.lambda_)),
            sagemaker=stack.enter_context(stubbed(clients.sagemaker)),
            autoscaling=clients.autoscaling,
            autoscaling_calls=stack.enter_context(recorded_calls(clients.autoscaling)),
            lambda_calls=stack.enter_context(recorded_calls(clients.lambda_)),
            clock=clock,
            context=FakeContext(clock=clock, timeout_seconds=900),
        )


def expect_start(world: PreWorld, *, blue: str | None = BLUE, **deployment: Any) -> None:
    expect_deployment(world.codedeploy, **deployment)
    expect_blue_green(world.lambda_, blue=blue)


# --- success paths -----------------------------------------------------------------------------


def test_capacity_already_matched_sends_samples_and_succeeds(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=2)
    expect_endpoint(world.sagemaker, BLUE, instances=2)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded"
    assert world.register_calls() == []
    assert capacity_of(world.autoscaling, GREEN) == (1, 4)
    assert world.clock.sleeps == []


def test_samples_go_through_the_new_version_as_api_gateway_proxy_events(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=1)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    world.run()

    invokes = [params for name, params in world.lambda_calls if name == "Invoke"]
    assert [(p["FunctionName"], p["Qualifier"]) for p in invokes] == [(FUNCTION, "4")] * 2
    first, second = world.invocations()
    assert first["httpMethod"] == "POST"
    assert first["path"] == first["resource"] == f"/models/{MODEL}/invocations"
    assert first["pathParameters"] is None
    assert first["headers"] == {"Content-Type": "application/json"}
    assert first["body"] == JSON_SAMPLE["body"]
    assert first["isBase64Encoded"] is False
    assert first["requestContext"]["requestId"] == "pre-traffic-hook-1"
    assert second["headers"] == {"Content-Type": "text/csv", "Accept": "application/json"}
    assert base64.b64decode(second["body"]) == b"1,2,3\n"
    assert second["isBase64Encoded"] is True
    assert second["requestContext"]["requestId"] == "pre-traffic-hook-2"


def test_without_model_name_the_path_uses_the_function_name(
    world: PreWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMPLE_REQUESTS", json.dumps([JSON_SAMPLE]))
    expect_deployment(world.codedeploy, content=json.dumps(appspec(current=None)))
    expect_version_endpoint(world.lambda_, "4", GREEN, model=None)
    expect_endpoint(world.sagemaker, GREEN)
    world.expect_samples_pass(1)
    expect_report(world.codedeploy, "Succeeded")

    world.run()

    (event,) = world.invocations()
    assert event["path"] == f"/models/{FUNCTION}/invocations"


def test_first_deployment_without_blue_skips_capacity_matching(world: PreWorld) -> None:
    expect_start(world, blue=None, content=json.dumps(appspec(current=None)))
    expect_endpoint(world.sagemaker, GREEN)  # blue is never described
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.register_calls() == []


def test_new_version_on_the_same_endpoint_skips_capacity_matching(world: PreWorld) -> None:
    expect_start(world, blue=GREEN)  # e.g. a front-end code change: both versions call green
    expect_endpoint(world.sagemaker, GREEN)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.register_calls() == []


def test_without_autoscaling_env_capacity_matching_is_skipped(
    world: PreWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTOSCALING_MIN_CAPACITY")
    monkeypatch.delenv("AUTOSCALING_MAX_CAPACITY")
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=None)  # e.g. serverless
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.register_calls() == []


def test_blue_already_deleted_skips_capacity_matching(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    world.sagemaker.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f"Could not find endpoint {BLUE}.",
        expected_params={"EndpointName": BLUE},
    )
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.register_calls() == []


# --- capacity matching -------------------------------------------------------------------------


def test_scaled_out_blue_raises_greens_floor_and_waits_for_it(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=3)
    expect_endpoint(world.sagemaker, GREEN, status="InService", instances=1)  # not started yet
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=1)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_endpoint(world.sagemaker, GREEN, status="InService", instances=3)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded", result["reason"]
    assert world.register_calls() == [
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": f"endpoint/{GREEN}/variant/{VARIANT}",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 3,
            "MaxCapacity": 4,
        }
    ]
    assert capacity_of(world.autoscaling, GREEN) == (3, 4)
    assert world.clock.sleeps == [20, 20, 20]


def test_floor_is_capped_at_greens_maximum(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=6)
    expect_endpoint(world.sagemaker, GREEN, status="InService", instances=4)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert capacity_of(world.autoscaling, GREEN) == (4, 4)


def test_green_at_its_maximum_needs_no_register_call(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=4)
    expect_endpoint(world.sagemaker, BLUE, instances=6)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"
    assert world.register_calls() == []


def test_capacity_never_reached_fails_before_the_lambda_times_out(
    world: PreWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # budget: 190 s - 30 s safety margin - 2 samples x 35 s invoke timeout = 90 s of waiting;
    # the hook as a whole may not take longer than this one run, so no continuation.
    monkeypatch.setenv("MAX_HOOK_SECONDS", "190")
    world.context.timeout_seconds = 190
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=3)
    for _ in range(6):  # polls at 0, 20, 40, 60, 80 and at the deadline, 90 s
        expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_report(world.codedeploy, "Failed")  # and no sample request is sent

    result = world.run()

    assert result["status"] == "Failed"
    assert "did not reach 3 instances" in result["reason"]
    assert "Updating with 2" in result["reason"]
    assert world.clock.sleeps == [20, 20, 20, 20, 10]
    assert world.context.get_remaining_time_in_millis() == 100_000


def test_a_scale_out_longer_than_one_run_continues_in_a_new_invocation(world: PreWorld) -> None:
    world.context.timeout_seconds = 190  # 90 s of waiting in this run; the hook has 55 min
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=3)
    for _ in range(6):
        expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    world.lambda_.add_response("invoke", {"StatusCode": 202})
    # No report: the next invocation will make it.

    result = world.run()

    assert result["status"] is None
    assert "round 2 continues" in result["reason"]
    [(_, invoke)] = [call for call in world.lambda_calls if call[0] == "Invoke"]
    assert invoke["InvocationType"] == "Event"
    assert invoke["FunctionName"] == world.context.invoked_function_arn
    payload = json.loads(invoke["Payload"])
    assert payload["DeploymentId"] == hook_event()["DeploymentId"]
    assert payload["Continuation"]["round"] == 2
    assert payload["Continuation"]["state"] == {"floor": 3}
    assert payload["Continuation"]["startedAt"] == world.clock.start.isoformat()
    assert capacity_of(world.autoscaling, GREEN) == (3, 4)


def continued_event(clock: FakeClock, *, started_minutes_ago: float) -> dict[str, Any]:
    started = clock.now() - timedelta(minutes=started_minutes_ago)
    return {
        **hook_event(),
        "Continuation": {"startedAt": started.isoformat(), "round": 2, "state": {"floor": 3}},
    }


def test_a_continued_run_keeps_waiting_without_registering_again(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_endpoint(world.sagemaker, GREEN, status="InService", instances=3)
    world.expect_samples_pass()
    expect_report(world.codedeploy, "Succeeded")

    result = world.run(continued_event(world.clock, started_minutes_ago=15))

    assert result["status"] == "Succeeded", result["reason"]
    assert "set by an earlier run" in result["reason"]
    assert world.register_calls() == []
    assert world.clock.sleeps == [20]


def test_a_continued_run_fails_once_the_hooks_hour_is_nearly_up(world: PreWorld) -> None:
    # 55 minutes in all; this run started 54 minutes after the first: 60 s left, minus the
    # time kept for the two samples (70 s): nothing left to wait.
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=2)
    expect_report(world.codedeploy, "Failed")

    result = world.run(continued_event(world.clock, started_minutes_ago=54))

    assert result["status"] == "Failed"
    assert "did not reach 3 instances before the hook's time ran out" in result["reason"]


def test_a_reverse_shift_passes_without_capacity_or_samples(world: PreWorld) -> None:
    """CloudFormation rolling back after a successful shift moves the alias to the OLDER
    version; failing here would leave the stack in UPDATE_ROLLBACK_FAILED."""
    expect_reverse_shift(world.codedeploy, world.lambda_, back_to=BLUE, leaving=GREEN)
    expect_report(world.codedeploy, "Succeeded")

    result = world.run()

    assert result["status"] == "Succeeded"
    assert "reverse shift back to version 3" in result["reason"]
    assert world.invocations() == []
    assert world.register_calls() == []


def test_samples_are_not_started_without_time_for_their_timeout(world: PreWorld) -> None:
    world.context.timeout_seconds = 60  # 60 s - 30 s margin < one 35 s invoke timeout
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    expect_endpoint(world.sagemaker, BLUE)
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert "not enough time left to send sample request 1" in result["reason"]
    assert world.invocations() == []


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "RollingBack"])
def test_green_breaking_while_scaling_fails_at_once(world: PreWorld, status: str) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, instances=1)
    expect_endpoint(world.sagemaker, BLUE, instances=3)
    expect_endpoint(world.sagemaker, GREEN, status="Updating", instances=1)
    expect_endpoint(world.sagemaker, GREEN, status=status, instances=1, failure_reason="boom")
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert f"went {status}" in result["reason"] and "boom" in result["reason"]
    assert world.clock.sleeps == [20]


def test_green_without_the_configured_variant_fails(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, variant="other")
    expect_endpoint(world.sagemaker, BLUE, instances=3)
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert f"no variant '{VARIANT}'" in result["reason"]


# --- green not ready ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Creating", "Updating", "Failed", "OutOfService"])
def test_green_not_in_service_fails_without_sending_samples(world: PreWorld, status: str) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, status=status)
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert f"{GREEN} is {status}, not InService" in result["reason"]
    assert world.invocations() == []


# --- sample requests ---------------------------------------------------------------------------

BAD_ANSWERS = {
    "wrong status": (
        invoke_response(proxy_response(status=500, body={"message": "model error"})),
        "status 500, expected 200",
    ),
    "function error": (
        invoke_response({"errorMessage": "KeyError: 'x'"}, function_error="Unhandled"),
        "the function failed (Unhandled)",
    ),
    "answered by blue": (
        invoke_response(proxy_response(endpoint=BLUE)),
        f"answered by endpoint '{BLUE}'",
    ),
    "no endpoint header": (
        invoke_response(proxy_response(endpoint=None)),
        "answered by endpoint None",
    ),
    "missing json keys": (
        invoke_response(proxy_response(body={"score": 1})),
        "body lacks keys ['prediction']",
    ),
    "wrong content type": (
        invoke_response(proxy_response(content_type="text/plain")),
        "content type 'text/plain'",
    ),
    "another version answered": (
        invoke_response(proxy_response(), executed_version="3"),
        "version 3 answered instead",
    ),
    "not a proxy response": (invoke_response("hello"), "has no statusCode"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_a_bad_sample_answer_fails(world: PreWorld, case: str) -> None:
    answer, expected_reason = BAD_ANSWERS[case]
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    expect_endpoint(world.sagemaker, BLUE)
    world.lambda_.add_response("invoke", answer)
    expect_report(world.codedeploy, "Failed")  # the second sample is never sent

    result = world.run()

    assert result["status"] == "Failed"
    assert "sample request 1" in result["reason"]
    assert expected_reason in result["reason"]


def test_the_second_sample_can_fail_too(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    expect_endpoint(world.sagemaker, BLUE)
    world.lambda_.add_response("invoke", invoke_response(proxy_response()))
    world.lambda_.add_response("invoke", invoke_response(proxy_response(status=415)))
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert "sample request 2" in result["reason"] and "status 415" in result["reason"]


def test_base64_response_bodies_are_decoded(world: PreWorld) -> None:
    answer = proxy_response()
    answer["body"] = base64.b64encode(answer["body"].encode()).decode()
    answer["isBase64Encoded"] = True
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    expect_endpoint(world.sagemaker, BLUE)
    world.lambda_.add_response("invoke", invoke_response(answer))
    world.lambda_.add_response("invoke", invoke_response(proxy_response()))
    expect_report(world.codedeploy, "Succeeded")

    assert world.run()["status"] == "Succeeded"


# --- crashes, bad input, bad configuration -----------------------------------------------------


def test_a_client_error_mid_way_still_reports_failed(world: PreWorld) -> None:
    expect_start(world)
    world.sagemaker.add_client_error(
        "describe_endpoint", service_error_code="AccessDeniedException", http_status_code=400
    )
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert result["reason"].startswith("the hook crashed: ClientError")


def test_an_unexpected_exception_still_reports_failed(
    world: PreWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(pre_traffic.check, "send_sample_requests", explode)
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN)
    expect_endpoint(world.sagemaker, BLUE)
    expect_report(world.codedeploy, "Failed")

    assert world.run() == {"status": "Failed", "reason": "the hook crashed: RuntimeError: bug"}


def test_an_unreadable_appspec_reports_failed(world: PreWorld) -> None:
    expect_deployment(world.codedeploy, content="version: 0.0\nResources: []\n")
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert "AppSpec content is not JSON" in result["reason"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SAMPLE_REQUESTS", None, "SAMPLE_REQUESTS is required"),
        ("SAMPLE_REQUESTS", "[]", "non-empty JSON list"),
        ("SAMPLE_REQUESTS", "{not json", "SAMPLE_REQUESTS is not valid JSON"),
        ("SAMPLE_REQUESTS", '[{"body": "x"}]', "SAMPLE_REQUESTS[0].contentType is required"),
        ("SAMPLE_REQUESTS", '[{"contentType": "a", "body": "x", "expect": 1}]', "unknown keys"),
        (
            "SAMPLE_REQUESTS",
            '[{"contentType": "a", "body": "%%%", "bodyBase64": true}]',
            "not valid base64",
        ),
        ("VARIANT_NAME", None, "VARIANT_NAME is required"),
        ("AUTOSCALING_MAX_CAPACITY", None, "must be set together"),
        ("AUTOSCALING_MAX_CAPACITY", "0", "AUTOSCALING_MAX_CAPACITY must be >= 1"),
        ("AUTOSCALING_MIN_CAPACITY", "9", "is below AUTOSCALING_MIN_CAPACITY"),
        ("CAPACITY_POLL_SECONDS", "soon", "CAPACITY_POLL_SECONDS must be a number"),
    ],
)
def test_bad_configuration_reports_failed_naming_the_variable(
    world: PreWorld,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str | None,
    message: str,
) -> None:
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    expect_report(world.codedeploy, "Failed")

    result = world.run()

    assert result["status"] == "Failed"
    assert message in result["reason"]


@pytest.mark.parametrize(
    "event",
    [{}, {"DeploymentId": "d-1"}, {"LifecycleEventHookExecutionId": "x"}, None, "text"],
)
def test_an_event_without_ids_is_logged_and_not_reported(world: PreWorld, event: Any) -> None:
    result = world.hook.handler(event, world.context)  # the Stubbers refuse any call

    assert result == {"status": None, "reason": "event lacks the CodeDeploy ids"}


def test_a_failing_report_is_raised_so_lambda_records_the_error(world: PreWorld) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, status="Failed")
    world.codedeploy.add_client_error(
        "put_lifecycle_event_hook_execution_status",
        service_error_code="LifecycleEventAlreadyCompletedException",
        expected_params={
            "deploymentId": "d-ABCDEF123",
            "lifecycleEventHookExecutionId": "hook-execution-1",
            "status": "Failed",
        },
    )

    with pytest.raises(Exception, match="LifecycleEventAlreadyCompleted"):
        world.run()


def test_the_reason_is_logged(world: PreWorld, caplog: pytest.LogCaptureFixture) -> None:
    expect_start(world)
    expect_endpoint(world.sagemaker, GREEN, status="Creating")
    expect_report(world.codedeploy, "Failed")

    world.run()

    (report,) = [r for r in caplog.records if r.getMessage().startswith("reporting")]
    assert report.levelname == "ERROR"
    assert report.status == "Failed"  # type: ignore[attr-defined]
    assert f"{GREEN} is Creating" in report.getMessage()
