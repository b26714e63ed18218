"""The shared layer: AppSpec reading, blue/green resolution, env parsing, time, always-report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from deployment_hooks_common import (
    AliasShift,
    ConfigError,
    Deadline,
    HookEvent,
    HookFailedError,
    read_deployment,
    resolve_endpoints,
    run_lifecycle_hook,
    wait_until,
)
from deployment_hooks_common.aws import (
    CallBudget,
    TimeBoxedClient,
    bind_deadlines,
    call_budget,
    client_config,
)
from deployment_hooks_common.continuation import Continuation, hand_over
from deployment_hooks_common.deployment import appspec_content, parse_appspec
from deployment_hooks_common.settings import (
    float_or_default,
    int_or_default,
    json_value,
    optional_int,
    require_str,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lambdas.hooks.hook_fakes import (
    BLUE,
    CREATE_TIME,
    DEPLOYMENT_ID,
    FUNCTION,
    GREEN,
    MODEL,
    FakeClock,
    appspec,
    deployment_response,
    expect_blue_green,
    expect_deployment,
    expect_report,
    expect_version_endpoint,
    hook_event,
    make_client,
    recorded_calls,
    stubbed,
)

LOGGER = Logger(service="deployment-hooks-test")

# --- AppSpec -------------------------------------------------------------------------------------


def test_reads_the_alias_shift_cloudformation_writes() -> None:
    assert parse_appspec(json.dumps(appspec())) == AliasShift(
        function_name=FUNCTION, alias="live", current_version="3", target_version="4"
    )


def test_reads_numeric_versions_and_lowercase_keys() -> None:
    properties = {"name": "f", "alias": "live", "currentversion": 1, "targetversion": 2}
    content = {
        "version": 0.0,
        "resources": [{"fn": {"type": "AWS::Lambda::Function", "properties": properties}}],
    }
    shift = parse_appspec(json.dumps(content))
    assert (shift.current_version, shift.target_version) == ("1", "2")


def test_a_missing_current_version_means_no_blue() -> None:
    assert parse_appspec(json.dumps(appspec(current=None))).current_version is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("version: 0.0\nResources:\n  - fn: {}\n", "AppSpec content is not JSON"),
        ("[]", "not a JSON object"),
        ('{"version": 0.0}', "no Resources list"),
        ('{"Resources": [{"x": {"Type": "AWS::ECS::Service"}}]}', "found 0"),
        ('{"Resources": ["fn"]}', "resource entry is not an object"),
        (
            json.dumps({"Resources": appspec()["Resources"] * 2}),
            "exactly one AWS::Lambda::Function, found 2",
        ),
        (json.dumps(appspec(target="")), "no TargetVersion"),
        (json.dumps(appspec(function="")), "no Name"),
        ('{"Resources": [{"f": {"Type": "AWS::Lambda::Function"}}]}', "no Properties"),
    ],
)
def test_refuses_an_appspec_it_cannot_read(content: str, message: str) -> None:
    with pytest.raises(HookFailedError, match=message.replace("[", r"\[")):
        parse_appspec(content)


@given(
    function=st.text(min_size=1, max_size=64),
    current=st.none() | st.integers(min_value=1, max_value=10_000).map(str),
    target=st.integers(min_value=1, max_value=10_000).map(str),
)
def test_any_json_appspec_round_trips(function: str, current: str | None, target: str) -> None:
    content = json.dumps(appspec(function=function, current=current, target=target))
    assert parse_appspec(content) == AliasShift(function, "live", current, target)


@pytest.mark.parametrize("revision_type", ["AppSpecContent", "String"])
def test_reads_both_inline_revision_types(revision_type: str) -> None:
    info = deployment_response("{}", revision_type=revision_type)["deploymentInfo"]
    assert appspec_content(info["revision"]) == "{}"


def test_refuses_a_revision_stored_elsewhere() -> None:
    info = deployment_response("{}", revision_type="S3")["deploymentInfo"]
    with pytest.raises(HookFailedError, match="revision type 'S3' is not supported"):
        appspec_content(info["revision"])


def test_refuses_an_empty_revision() -> None:
    with pytest.raises(HookFailedError, match="carries no AppSpec content"):
        appspec_content({"revisionType": "AppSpecContent", "appSpecContent": {"content": " "}})


def test_read_deployment_returns_the_shift_and_create_time() -> None:
    codedeploy = make_client("codedeploy")
    with stubbed(codedeploy) as stub:
        expect_deployment(stub, revision_type="String")
        deployment = read_deployment(codedeploy, DEPLOYMENT_ID)
    assert deployment.create_time == CREATE_TIME
    assert deployment.shift.target_version == "4"


# --- blue and green ------------------------------------------------------------------------------


def test_resolves_green_from_the_target_and_blue_from_the_current_version() -> None:
    lambda_client = make_client("lambda")
    with stubbed(lambda_client) as stub:
        expect_blue_green(stub)
        endpoints = resolve_endpoints(lambda_client, AliasShift(FUNCTION, "live", "3", "4"))
    assert (endpoints.green, endpoints.blue, endpoints.model_name) == (GREEN, BLUE, MODEL)


@pytest.mark.parametrize("current", [None, "4"])
def test_no_blue_without_a_different_current_version(current: str | None) -> None:
    lambda_client = make_client("lambda")
    with stubbed(lambda_client) as stub:
        expect_blue_green(stub, blue=None)
        endpoints = resolve_endpoints(lambda_client, AliasShift(FUNCTION, "live", current, "4"))
    assert (endpoints.green, endpoints.blue) == (GREEN, None)


def test_a_version_without_an_endpoint_fails() -> None:
    lambda_client = make_client("lambda")
    with stubbed(lambda_client) as stub:
        expect_version_endpoint(stub, "4", None)
        with pytest.raises(HookFailedError, match=r"version 4 of .* has no ENDPOINT_NAME"):
            resolve_endpoints(lambda_client, AliasShift(FUNCTION, "live", "3", "4"))


# --- settings ------------------------------------------------------------------------------------


def test_settings_parse_and_default() -> None:
    env = {"A": " 7 ", "B": "0.5", "C": "", "J": '{"k": 1}'}
    assert require_str(env, "A") == "7"
    assert optional_int(env, "A") == 7
    assert optional_int(env, "C") is None
    assert int_or_default(env, "MISSING", 3) == 3
    assert float_or_default(env, "B", 1.0) == 0.5
    assert json_value(env, "J") == {"k": 1}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: require_str({"X": " "}, "X"), "X is required"),
        (lambda: optional_int({"X": "1.5"}, "X"), "X must be an integer, got '1.5'"),
        (lambda: optional_int({"X": "-2"}, "X"), "X must be >= 0, got -2"),
        (lambda: float_or_default({"X": "inf?"}, "X", 1.0), "X must be a number"),
        (lambda: float_or_default({"X": "-0.1"}, "X", 1.0), "X must be >= 0.0"),
        (lambda: json_value({"X": "{"}, "X"), "X is not valid JSON"),
    ],
)
def test_settings_errors_name_the_variable(call: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        call()


def test_config_errors_are_hook_failures() -> None:
    assert issubclass(ConfigError, HookFailedError)


# --- time ----------------------------------------------------------------------------------------


class _Context:
    def __init__(self, clock: FakeClock, timeout: float) -> None:
        self.clock, self.timeout = clock, timeout

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout - self.clock.elapsed) * 1000)


def test_deadline_keeps_the_safety_margin(clock: FakeClock) -> None:
    deadline = Deadline.from_context(_Context(clock, 300), clock, 30)
    assert deadline.remaining() == 270
    clock.sleep(100)
    assert deadline.remaining() == 170
    assert deadline.sooner(50).remaining() == 50
    assert deadline.sooner(500).remaining() == 170
    assert deadline.earlier_by(70).remaining() == 100


def test_wait_until_returns_at_once_when_the_condition_holds(clock: FakeClock) -> None:
    assert wait_until(lambda: True, deadline=Deadline(clock, clock.monotonic() + 60), interval=5)
    assert clock.sleeps == []


def test_wait_until_polls_and_checks_once_more_at_the_deadline(clock: FakeClock) -> None:
    checks: list[float] = []

    def never() -> bool:
        checks.append(clock.elapsed)
        return False

    assert not wait_until(never, deadline=Deadline(clock, clock.monotonic() + 25), interval=10)
    assert checks == [0, 10, 20, 25]
    assert clock.sleeps == [10, 10, 5]


def test_wait_until_stops_when_the_condition_raises(clock: FakeClock) -> None:
    def broken() -> bool:
        raise HookFailedError("endpoint failed")

    with pytest.raises(HookFailedError):
        wait_until(broken, deadline=Deadline(clock, clock.monotonic() + 60), interval=5)


def test_with_time_to_spare_a_call_gets_the_default_budget() -> None:
    budget = call_budget(600.0, 35.0)
    assert budget == CallBudget(connect_timeout=3.0, read_timeout=35.0, max_attempts=3)
    config = client_config(budget)
    assert (config.connect_timeout, config.read_timeout) == (3.0, 35.0)
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert call_budget(None, 10.0).worst_case_seconds == 3 * 13 + 3


@settings(max_examples=300, deadline=None)
@given(
    seconds_left=st.floats(min_value=2.0, max_value=2000.0),
    read_timeout=st.sampled_from([10.0, 35.0]),
)
def test_a_calls_worst_case_always_fits_the_time_left(
    seconds_left: float, read_timeout: float
) -> None:
    budget = call_budget(seconds_left, read_timeout)
    assert budget.worst_case_seconds <= seconds_left + 1e-9
    assert budget.read_timeout <= read_timeout
    assert 1 <= budget.max_attempts <= 3


def test_near_the_deadline_fewer_attempts_and_shorter_timeouts() -> None:
    assert call_budget(30.0, 10.0).max_attempts == 3
    assert call_budget(30.0, 10.0).read_timeout < 10.0
    assert call_budget(5.0, 10.0).max_attempts == 2
    assert call_budget(2.5, 10.0).max_attempts == 1


def test_no_time_left_means_no_call() -> None:
    with pytest.raises(HookFailedError, match="not enough for another AWS call"):
        call_budget(1.0, 10.0)


class _Recorder:
    def __init__(self) -> None:
        self.configs: list[Any] = []

    def __call__(self, service_name: str, *, config: Any) -> Any:
        self.configs.append(config)
        return SimpleNamespace(describe_endpoint=lambda **_: {"service": service_name})


def test_time_boxed_client_derives_the_budget_per_call_and_caches_clients() -> None:
    clock = FakeClock()
    factory = _Recorder()
    client = TimeBoxedClient("sagemaker", factory=factory)
    client.bind(Deadline(clock, clock.monotonic() + 600))
    assert client.describe_endpoint(EndpointName="e") == {"service": "sagemaker"}
    client.describe_endpoint(EndpointName="e")
    assert len(factory.configs) == 1  # same budget, same client
    clock.sleep(590)  # 10 s left
    client.describe_endpoint(EndpointName="e")
    assert len(factory.configs) == 2
    late = factory.configs[-1]
    attempts = late.retries["max_attempts"]
    assert attempts * (late.connect_timeout + late.read_timeout) <= 10
    clock.sleep(9.5)
    with pytest.raises(HookFailedError):
        client.describe_endpoint(EndpointName="e")


def test_bind_deadlines_gives_the_report_the_margin() -> None:
    @dataclass(frozen=True)
    class Clients:
        codedeploy: Any
        sagemaker: Any
        stubbed: Any

    clock = FakeClock()
    clients = Clients(TimeBoxedClient("codedeploy"), TimeBoxedClient("sagemaker"), object())
    deadline = Deadline(clock, clock.monotonic() + 100)
    bind_deadlines(clients, deadline, report_margin=30)
    assert clients.sagemaker.deadline is deadline
    assert clients.codedeploy.deadline.remaining() == 128


def test_a_call_to_a_server_that_never_answers_ends_within_the_deadline() -> None:
    """A real socket on 127.0.0.1 that accepts and never answers: botocore's own retries
    with the default timeouts would take 42 s; the time-boxed client gives up in time."""
    import socket
    import time

    import boto3
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    from deployment_hooks_common.clock import SystemClock

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    try:

        def factory(service_name: str, *, config: Any) -> Any:
            return boto3.client(service_name, config=config, endpoint_url=url)

        client = TimeBoxedClient("sagemaker", factory=factory)
        clock = SystemClock()
        client.bind(Deadline(clock, clock.monotonic() + 4.0))
        started = time.monotonic()
        with pytest.raises((ReadTimeoutError, ConnectTimeoutError, HookFailedError)):
            client.describe_endpoint(EndpointName="hangs")
        # Within the 4 s deadline, plus slack for a busy machine's scheduling (4.58 s was seen
        # at load 5 on 2 cores): far from the 42 s that botocore's own retries would take.
        assert time.monotonic() - started <= 6.0
    finally:
        server.close()


# --- always report -------------------------------------------------------------------------------


def _run_with(check: Any, status: str) -> Any:
    codedeploy = make_client("codedeploy")
    with stubbed(codedeploy) as stub:
        expect_report(stub, status)
        return run_lifecycle_hook(hook_event(), codedeploy=codedeploy, check=check, logger=LOGGER)


def test_a_check_that_returns_reports_succeeded() -> None:
    result = _run_with(lambda hook: f"checked {hook.deployment_id}", "Succeeded")
    assert (result.status, result.reason) == ("Succeeded", f"checked {DEPLOYMENT_ID}")


def test_a_hook_failure_reports_failed_with_its_reason() -> None:
    def fail(hook: HookEvent) -> str:
        raise HookFailedError("green is sick")

    assert _run_with(fail, "Failed").reason == "green is sick"


@given(st.sampled_from([RuntimeError, KeyError, ValueError, TypeError, OSError, ZeroDivisionError]))
def test_any_crash_reports_failed(error: type[Exception]) -> None:
    def crash(hook: HookEvent) -> str:
        raise error("boom")

    result = _run_with(crash, "Failed")
    assert result.reason.startswith(f"the hook crashed: {error.__name__}")


def test_even_a_base_exception_reports_failed_before_propagating() -> None:
    def interrupted(hook: HookEvent) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run_with(interrupted, "Failed")


def test_no_ids_means_no_report_and_no_check() -> None:
    def must_not_run(hook: HookEvent) -> str:
        raise AssertionError("checked without ids")

    codedeploy = make_client("codedeploy")
    with stubbed(codedeploy):
        result = run_lifecycle_hook(
            {"DeploymentId": "d-1"}, codedeploy=codedeploy, check=must_not_run, logger=LOGGER
        )
    assert result.status is None


# --- continuations, reverse shifts, the rounded budget ------------------------------------------


# Seconds left where an attempt's connect timeout falls under 1 s: rounding it up to 1 s
# once let the client's worst case exceed the time left.
@pytest.mark.parametrize("seconds_left", [2.7, 6.5, 11.5])
def test_a_time_boxed_clients_rounded_budget_still_fits_the_time_left(
    seconds_left: float,
) -> None:
    clock = FakeClock()
    client = TimeBoxedClient("sagemaker")
    client.bind(Deadline(clock, clock.monotonic() + seconds_left))
    assert client.current_budget().worst_case_seconds <= seconds_left


@pytest.mark.parametrize(
    ("current", "target", "reverse"),
    [
        ("3", "4", False),
        ("4", "3", True),
        ("10", "9", True),
        ("9", "10", False),
        (None, "1", False),
        ("4", "4", False),
        ("$LATEST", "3", False),
    ],
)
def test_only_a_shift_to_a_lower_version_is_reverse(
    current: str | None, target: str, reverse: bool
) -> None:
    shift = AliasShift(
        function_name=FUNCTION, alias="live", current_version=current, target_version=target
    )
    assert shift.is_reverse is reverse


def test_a_continuation_round_trips_through_the_event(clock: FakeClock) -> None:
    first = Continuation.from_event(hook_event(), clock)
    assert (first.started_at, first.round, dict(first.state)) == (clock.now(), 1, {})
    later = Continuation(started_at=first.started_at, round=2, state={"floor": 3})
    event = {**hook_event(), "Continuation": json.loads(json.dumps(later.as_json()))}
    assert Continuation.from_event(event, clock) == later
    clock.sleep(600)
    assert Continuation.from_event(event, clock).total_deadline(clock, 3300).remaining() == 2700


@pytest.mark.parametrize("raw", ["soon", {"round": 2}, {"startedAt": "yesterday", "round": 2}])
def test_an_unusable_continuation_is_a_hook_failure(raw: Any, clock: FakeClock) -> None:
    with pytest.raises(HookFailedError, match="unusable Continuation"):
        Continuation.from_event({**hook_event(), "Continuation": raw}, clock)


def test_hand_over_invokes_itself_asynchronously_then_reports_nothing(clock: FakeClock) -> None:
    lambda_ = make_client("lambda")
    codedeploy = make_client("codedeploy")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:hook"
    started = Continuation.from_event(hook_event(), clock)

    def check(hook: HookEvent) -> str:
        hand_over(
            lambda_,
            function_arn=arn,
            event=hook_event(),
            continuation=started,
            state={"floor": 3},
            reason="still scaling out",
        )

    with stubbed(lambda_) as stub, stubbed(codedeploy), recorded_calls(lambda_) as calls:
        stub.add_response("invoke", {"StatusCode": 202})
        result = run_lifecycle_hook(hook_event(), codedeploy=codedeploy, check=check, logger=LOGGER)

    assert result.status is None  # and no put_lifecycle_event_hook_execution_status
    assert result.reason == "still scaling out; round 2 continues"
    [(_, params)] = calls
    assert (params["FunctionName"], params["InvocationType"]) == (arn, "Event")
    payload = json.loads(params["Payload"])
    assert payload["Continuation"] == {
        "startedAt": started.started_at.isoformat(),
        "round": 2,
        "state": {"floor": 3},
    }


def test_a_hand_over_whose_invoke_fails_reports_failed(clock: FakeClock) -> None:
    lambda_ = make_client("lambda")

    def check(hook: HookEvent) -> str:
        hand_over(
            lambda_,
            function_arn="arn:aws:lambda:eu-west-1:123456789012:function:hook",
            event=hook_event(),
            continuation=Continuation.from_event(hook_event(), clock),
            state={},
            reason="still scaling out",
        )

    with stubbed(lambda_) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException")
        result = _run_with(check, "Failed")
    assert "TooManyRequestsException" in result.reason
