"""loadtest: the search and the formula on made-up steps, then a real bounded run against the
fake runtime with a known capacity (slots / service time), and the recommender engine through
botocore's Stubber."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY

from safe_sagemaker.cli.load_steps import (
    Step,
    holds,
    max_rps_within_slo,
    percentile,
    recommend,
    search,
    summarize,
)
from safe_sagemaker.config import AutoscalingConfig, load_environment
from tests.cli.conftest import Run, one_line_error
from tests.support.fake_sagemaker_runtime import (
    Capacity,
    FakeSageMakerRuntime,
    Fault,
    in_child_process,
)

# 4 slots of 50 ms: 80 requests a second. Beyond it the queue grows and so does the latency
# (counted from each request's due time), until the p99 leaves the SLO. The SLO leaves 100 ms
# above the service time for a busy machine's scheduling stalls, and the queue is long enough
# that overload shows as latency, never as a chance 429.
CAPACITY = Capacity(slots=4, service_seconds=0.05, queue=64)
SLO_MS = 150


def fake_step(capacity: float) -> Callable[[float], Step]:
    def run(rate: float) -> Step:
        if rate <= capacity:
            return Step(rate, rate, 20, 40, 0.0, 100)
        return Step(rate, capacity, 50, 900, 0.2, 100)

    return run


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99
    assert percentile(values, 0.5) == 50
    assert percentile([], 0.99) is None


def test_summarize_and_holds() -> None:
    step = summarize(50, [10.0] * 99 + [200.0], errors=0, elapsed_s=2.0)
    assert (step.rps_achieved, step.p50_ms, step.p99_ms, step.error_rate) == (50, 10, 10, 0)
    assert holds(step, SLO_MS)
    assert not holds(summarize(50, [10.0] * 98, errors=2, elapsed_s=2.0), SLO_MS)  # 2% errors
    assert not holds(summarize(50, [10.0] * 50, errors=0, elapsed_s=2.0), SLO_MS)  # 25 of 50 rps
    assert not holds(summarize(50, [], errors=0, elapsed_s=2.0), SLO_MS)


def test_search_steps_up_then_bisects_and_stays_bounded() -> None:
    offered: list[float] = []

    def run(rate: float) -> Step:
        offered.append(rate)
        return fake_step(70)(rate)

    steps = search(run, max_rps=100, steps=5, refinements=3, slo_p99_ms=SLO_MS)
    assert offered == [20, 40, 60, 80, 70, 75, 72.5]
    assert len(steps) <= 5 + 3
    assert max_rps_within_slo(steps, SLO_MS) == 70


def test_search_never_exceeds_max_rps_and_reports_none_when_nothing_holds() -> None:
    steps = search(fake_step(1000), max_rps=100, steps=4, refinements=3, slo_p99_ms=SLO_MS)
    assert [s.rps_offered for s in steps] == [25, 50, 75, 100]  # all held: no bisection
    steps = search(fake_step(1), max_rps=100, steps=4, refinements=2, slo_p99_ms=SLO_MS)
    assert max_rps_within_slo(steps, SLO_MS) is None


def test_recommendation_uses_the_configs_formula() -> None:
    advice = recommend(80, instances=2, safety_factor=0.5)
    assert advice.max_requests_per_second == 40
    assert advice.target_invocations_per_instance == 40 * 0.5 * 60 == 1200
    config = AutoscalingConfig(max_capacity=2, max_requests_per_second=40, safety_factor=0.5)
    assert advice.target_invocations_per_instance == config.target_value


@pytest.fixture(scope="module")
def limited_runtime() -> Iterator[str]:
    # In a process of its own: its 64 connection threads must not share the GIL of the client
    # whose latencies are measured (on a busy machine they stretched the p99 past the SLO).
    with in_child_process(CAPACITY) as url:
        yield url


@pytest.fixture
def limited_env(limited_runtime: str, monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", limited_runtime)


def test_recommendation_lands_within_20_percent_of_the_known_capacity(
    run: Run, limited_env: None, environments: Path, tmp_path: Path
) -> None:
    # Bounded: at most 4 + 3 steps of 1 s, never above 1.5x the capacity (coarse steps 30, 60,
    # 90, 120 rps). Over 1 s a rate 12.5% above capacity (90 rps) queues about 125 ms, which
    # with the 50 ms service time is past the SLO even for a client that adds nothing.
    result = run(
        "--environments", environments, "loadtest", "--endpoint", "prod-churn-xgboost-e546fc68",
        "--slo-p99-ms", SLO_MS, "--max-rps", 1.5 * CAPACITY.requests_per_second, "--steps", 4,
        "--refine", 3, "--step-seconds", 1.0, "--concurrency", 64, "--plot", tmp_path / "load.png",
        "--write", "prod", "churn-xgboost", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # A figure for the record, not an assertion on time.
    print(
        f"\nfake capacity {CAPACITY.requests_per_second:g} rps, recommended "
        f"{document['recommended_max_requests_per_second']:g} rps; steps:",
        [(s["rps_offered"], s["p99_ms"], s["error_rate"]) for s in document["steps"]],
    )
    assert {"steps", "max_rps_within_slo", "recommended_max_requests_per_second",
            "recommended_target_invocations_per_instance"} <= set(document)  # fmt: skip
    assert set(document["steps"][0]) >= {
        "rps_offered",
        "rps_achieved",
        "p50_ms",
        "p99_ms",
        "error_rate",
    }
    recommended = document["recommended_max_requests_per_second"]
    assert 0.8 * CAPACITY.requests_per_second <= recommended <= 1.2 * CAPACITY.requests_per_second
    assert document["recommended_target_invocations_per_instance"] == round(recommended * 0.5 * 60)
    assert len(document["steps"]) <= 7

    written = next(
        m for m in load_environment(environments / "prod.json").models if m.name == "churn-xgboost"
    )
    assert written.autoscaling is not None
    assert written.autoscaling.max_requests_per_second == recommended
    assert written.autoscaling.min_capacity == 2 and written.autoscaling.max_capacity == 4

    from safe_sagemaker.cli import plot

    if plot.available():
        assert (tmp_path / "load.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert (
            "no PNG written: the plot needs pip install 'safe-sagemaker-endpoints[plot]'"
            in result.stderr
        )


def test_write_refuses_a_model_without_autoscaling(tmp_path: Path) -> None:
    from safe_sagemaker.cli.config_write import with_recommendation
    from safe_sagemaker.cli.errors import CliError

    with pytest.raises(CliError, match="has no autoscaling block"):
        with_recommendation({"models": [{"name": "m"}]}, "m", 10, 0.5)


def test_missing_endpoint_is_one_line(
    run: Run, runtime_env: str, runtime: FakeSageMakerRuntime
) -> None:
    with runtime.fault("dev-gone-00000000", Fault(kind="not-found")):
        result = run(
            "loadtest", "--endpoint", "dev-gone-00000000", "--slo-p99-ms", 100, "--no-plot"
        )
    assert result.exit_code == 3
    assert one_line_error(result) == (
        "Error: InvokeEndpoint failed: ValidationError: Endpoint dev-gone-00000000 of account "
        "123456789012 not found."
    )


def test_missing_credentials_is_one_line(run: Run, no_credentials: None, runtime_env: str) -> None:
    result = run("loadtest", "--endpoint", "dev-x-00000000", "--slo-p99-ms", 100, "--no-plot")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: no AWS credentials found")


def test_unreachable_runtime_is_one_line(
    run: Run, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9")
    result = run("loadtest", "--endpoint", "dev-x-00000000", "--slo-p99-ms", 100, "--no-plot")
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: cannot reach the endpoint")


def test_recommender_engine(run: Run, stub: Callable[[str], Any]) -> None:
    sagemaker = stub("sagemaker")
    endpoint = "prod-fraud-detector-e8dd6af7"
    sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}",
            "EndpointConfigName": "config-1",
            "EndpointStatus": "InService",
            "CreationTime": "2026-12-01T00:00:00Z",
            "LastModifiedTime": "2026-12-01T00:00:00Z",
        },
        {"EndpointName": endpoint},
    )
    sagemaker.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "config-1",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c1",
            "ProductionVariants": [
                {"VariantName": "primary", "ModelName": "model-1", "InstanceType": "ml.c5.xlarge"}
            ],
            "CreationTime": "2026-12-01T00:00:00Z",
        },
        {"EndpointConfigName": "config-1"},
    )
    role = "arn:aws:iam::123456789012:role/Recommender"
    sagemaker.add_response(
        "create_inference_recommendations_job",
        {"JobArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/j"},
        {
            "JobName": ANY,
            "JobType": "Advanced",
            "RoleArn": role,
            "InputConfig": {
                "ModelName": "model-1",
                "JobDurationInSeconds": 600,
                "EndpointConfigurations": [{"InstanceType": "ml.c5.xlarge"}],
                "ResourceLimit": {"MaxNumberOfTests": 1, "MaxParallelOfTests": 1},
                "TrafficPattern": {
                    "TrafficType": "PHASES",
                    "Phases": [
                        {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 60}
                    ],
                },
            },
            "StoppingConditions": {
                "MaxInvocations": 12000,
                "ModelLatencyThresholds": [{"Percentile": "P99", "ValueInMilliseconds": 300}],
            },
        },
    )
    job = {
        "JobName": "j",
        "JobType": "Advanced",
        "JobArn": "arn:aws:sagemaker:us-east-1:123456789012:inference-recommendations-job/j",
        "RoleArn": role,
        "CreationTime": "2026-12-01T00:00:00Z",
        "LastModifiedTime": "2026-12-01T00:00:00Z",
        "InputConfig": {},
    }
    sagemaker.add_response(
        "describe_inference_recommendations_job", {**job, "Status": "IN_PROGRESS"}
    )
    sagemaker.add_response(
        "describe_inference_recommendations_job",
        {
            **job,
            "Status": "COMPLETED",
            "InferenceRecommendations": [
                {
                    "Metrics": {
                        "CostPerHour": 0.2,
                        "CostPerInference": 0.0,
                        "MaxInvocations": 3000,
                        "ModelLatency": 120,
                    },
                    "EndpointConfiguration": {
                        "EndpointName": "e",
                        "VariantName": "v",
                        "InstanceType": "ml.c5.xlarge",
                        "InitialInstanceCount": 1,
                    },
                    "ModelConfiguration": {},
                }
            ],
        },
    )
    result = run(
        "loadtest", "--endpoint", endpoint, "--slo-p99-ms", 300, "--max-rps", 200,
        "--step-seconds", 60, "--engine", "recommender", "--role-arn", role, "--poll-seconds", 0,
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["max_rps_within_slo"] == 50  # 3000 invocations a minute
    assert document["recommended_max_requests_per_second"] == 50
    assert document["recommended_target_invocations_per_instance"] == 1500
    assert document["steps"] == []
    sagemaker.assert_no_pending_responses()
