"""Whole rollouts, simulated: a good model rolls out, a bad one rolls itself back.

Every scenario runs ProdStack's ``fraud-detector`` as synthesized (deployment config, alarms,
hook environments from the template) through the real front end and hooks; see
``tests/simulator/world.py`` for what is real and what is simulated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.simulator import scenarios as sim
from tests.simulator.world import Hang

pytestmark = pytest.mark.slow

SCENARIOS = {scenario.name: scenario for scenario in sim.scenarios()}
# The detection target: first bad request to the rollback starting, canary 10%.
DETECTION_TARGET_SECONDS = 120.0


@pytest.fixture(scope="session")
def run(synthesized: Any) -> Any:
    template = synthesized.templates["ProdStack"]
    results: dict[str, sim.Result] = {}

    def result(name: str, **variant: Any) -> sim.Result:
        """Each scenario (and variant) runs once per session."""
        key = f"{name} {variant!r}"
        if key not in results:
            scenario = SCENARIOS[name]
            if variant:
                options = {**scenario.world_options, **variant.pop("world_options", {})}
                scenario = replace(scenario, world_options=options, **variant)
            results[key] = sim.run(scenario, template)
        return results[key]

    return result


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_has_its_expected_outcome(run: Any, name: str) -> None:
    result = run(name)
    assert result.matches, (result.outcome, result.reason, result.extra["timeline"])


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if s.healthy])
def test_healthy_scenarios_never_roll_back(run: Any, name: str) -> None:
    result = run(name)
    assert result.outcome == "rolled out", result.reason
    assert result.max_green_share == 1.0


@pytest.mark.parametrize(
    "name", [n for n in SCENARIOS if n.startswith("green failing") and "1 req/min" not in n]
)
def test_a_failing_green_is_stopped_by_an_alarm_before_it_takes_all_traffic(
    run: Any, name: str
) -> None:
    result = run(name)
    assert result.max_green_share < 1.0
    assert "rollback-endpoint-5xx-ratio" in result.reason


@pytest.mark.parametrize(
    "name", [n for n in SCENARIOS if n.startswith("green failing") and "1 req/min" in n]
)
def test_at_one_request_a_minute_the_post_traffic_hook_catches_it(run: Any, name: str) -> None:
    result = run(name)
    assert result.reason == "AfterAllowTraffic hook reported Failed"


@pytest.mark.parametrize("rate", ["1 req/s", "100 req/s"])
def test_a_green_failing_every_request_is_detected_within_two_minutes(run: Any, rate: str) -> None:
    result = run(f"green failing 100% at {rate}")
    assert result.detection_seconds is not None
    assert result.detection_seconds <= DETECTION_TARGET_SECONDS


def test_latency_over_budget_rolls_back_on_the_latency_alarm(run: Any) -> None:
    result = run("green p99 latency 800 ms (budget 500 ms) at 10 req/s")
    assert "rollback-model-latency-p99" in result.reason
    assert result.max_green_share < 1.0


def test_callers_bad_input_reaches_green_and_does_not_roll_it_back(run: Any) -> None:
    result = run("callers send 20% bad input (the model answers 400) at 10 req/s")
    assert result.outcome == "rolled out"
    assert result.green_requests > 100


def test_green_matches_blues_size_before_traffic_moves_and_the_floor_comes_back(
    run: Any,
) -> None:
    result = run("blue scaled out to 6, green starts at 2 (scale-out 4 min)")
    assert result.green_instances_at_first_shift == 6
    assert result.green_floor_after == 2


def test_a_failed_floor_restore_pages_through_the_alerts_topic(run: Any) -> None:
    result = run("capacity floor restore fails after a good rollout")
    assert result.outcome == "rolled out"
    assert result.green_floor_after == 6
    assert any("CapacityFloorRestoreFailed" in alarm for alarm in result.notifications)


def test_a_25_minute_scale_out_continues_past_one_lambda_run(run: Any) -> None:
    result = run("scale-out of green takes 25 minutes")
    assert result.outcome == "rolled out"
    pre_runs = [h for h in result.hook_runs if h["hook"].endswith("pre-traffic-hook")]
    assert len(pre_runs) >= 2
    assert pre_runs[0]["status"] is None  # handed over, reported nothing
    assert pre_runs[-1]["status"] == "Succeeded"
    assert result.green_instances_at_first_shift == 6


def test_a_reverse_shift_after_a_successful_one_passes_quickly(run: Any) -> None:
    result = run("stack rollback after a successful shift (reverse shift)")
    reverse = result.extra["reverse"]
    assert reverse["status"] == "Succeeded", reverse["reason"]
    # The canary's own 5 minutes and two quick hooks: no wait for fresh traffic.
    assert reverse["seconds"] <= 330


def test_a_rolled_back_version_deployed_again_succeeds(run: Any) -> None:
    result = run("rolled-back version deployed again")
    assert result.outcome == "rolled back"
    assert result.extra["retry"]["status"] == "Succeeded", result.extra["retry"]


def test_a_hook_whose_calls_hang_reports_failed_before_its_lambda_timeout(run: Any) -> None:
    result = run("hook's Lambda invoke hangs 65 s before its timeout")
    [first] = [h for h in result.hook_runs if h["hook"].endswith("pre-traffic-hook")]
    assert first["status"] == "Failed"
    hook_started = sim.WARM_UP_SECONDS + 0.5
    assert first["at"] < hook_started + 900
    assert result.reason == "BeforeAllowTraffic hook reported Failed"


def test_control_fixed_call_budgets_let_the_lambda_die_without_a_report(run: Any) -> None:
    """The same hang with botocore's fixed budget (3 x (3 s + 35 s) + back-off): the runtime
    kills the hook first, and CodeDeploy waits out its hour."""
    result = run(
        "hook's Lambda invoke hangs 65 s before its timeout",
        world_options={
            "budget_timeouts": False,
            "hang": Hang(frozenset({"lambda"}), since=sim.WARM_UP_SECONDS + 830.0),
        },
    )
    assert "killed" in result.hook_runs[0]
    assert "never reported within an hour" in result.reason


def test_alarms_left_in_alarm_do_not_stop_the_next_deployment(run: Any) -> None:
    result = run("rollback alarms left in ALARM by the previous deployment")
    assert result.outcome == "rolled out", result.reason


def test_control_alarms_updated_in_place_would_stop_it(run: Any) -> None:
    result = run(
        "rollback alarms left in ALARM by the previous deployment", without_alarm_names=True
    )
    assert result.outcome == "rolled back"
    assert result.reason.endswith("is in ALARM")
    assert result.duration_seconds == 0
