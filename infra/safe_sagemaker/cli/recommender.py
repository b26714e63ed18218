"""``loadtest --engine recommender``: SageMaker Inference Recommender generates the load that one
machine cannot. An Advanced job with the same SLO as its stopping condition, on the model the
endpoint serves (or a model package), followed until it ends; its best recommendation becomes
the same figures the local load test reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safe_sagemaker.cli.errors import EXIT_FAILED, CliError

TERMINAL = {"COMPLETED", "FAILED", "STOPPED"}


@dataclass(frozen=True)
class JobSpec:
    job_name: str
    role_arn: str
    instance_type: str
    slo_p99_ms: int
    max_rps: float
    step_seconds: int
    model_name: str | None = None
    model_package_arn: str | None = None

    def request(self) -> dict[str, Any]:
        """The CreateInferenceRecommendationsJob request."""
        model = (
            {"ModelPackageVersionArn": self.model_package_arn}
            if self.model_package_arn
            else {"ModelName": self.model_name}
        )
        return {
            "JobName": self.job_name,
            "JobType": "Advanced",
            "RoleArn": self.role_arn,
            "InputConfig": {
                **model,
                "JobDurationInSeconds": max(600, self.step_seconds * 10),
                "EndpointConfigurations": [{"InstanceType": self.instance_type}],
                "ResourceLimit": {"MaxNumberOfTests": 1, "MaxParallelOfTests": 1},
                "TrafficPattern": {
                    "TrafficType": "PHASES",
                    "Phases": [
                        {
                            "InitialNumberOfUsers": 1,
                            "SpawnRate": 1,
                            "DurationInSeconds": self.step_seconds,
                        }
                    ],
                },
            },
            "StoppingConditions": {
                "MaxInvocations": max(1, round(self.max_rps * 60)),
                "ModelLatencyThresholds": [
                    {"Percentile": "P99", "ValueInMilliseconds": self.slo_p99_ms}
                ],
            },
        }


def served_model(sagemaker: Any, endpoint: str) -> tuple[str, str]:
    """The model name and instance type behind an endpoint's first production variant."""
    config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)[
        "ProductionVariants"
    ][0]
    return variant["ModelName"], variant.get("InstanceType", "")


def follow(
    sagemaker: Any,
    job_name: str,
    *,
    poll_seconds: float,
    on_status: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the job until it ends; the last description."""
    while True:
        job: dict[str, Any] = sagemaker.describe_inference_recommendations_job(JobName=job_name)
        on_status(job["Status"])
        if job["Status"] in TERMINAL:
            return job
        sleep(poll_seconds)


def best_max_rps(job: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Requests a second per instance the job's best recommendation sustains within the SLO.

    ``Metrics.MaxInvocations`` is per minute and per instance (AWS's definition)."""
    if job["Status"] != "COMPLETED":
        reason = job.get("FailureReason", "no reason given")
        raise CliError(
            f"Inference Recommender job {job['JobName']} ended {job['Status']}: {reason}",
            EXIT_FAILED,
        )
    recommendations = job.get("InferenceRecommendations") or []
    if not recommendations:
        raise CliError(
            f"Inference Recommender job {job['JobName']} completed without a recommendation "
            "(no configuration met the SLO)",
            EXIT_FAILED,
        )
    best = max(recommendations, key=lambda r: r["Metrics"]["MaxInvocations"])
    return best["Metrics"]["MaxInvocations"] / 60, best
