"""CodeDeploy AfterAllowTraffic hook: did the green endpoint really take traffic, and well?

The verdict is green's ``Invocation5XXErrors / Invocations`` ratio over everything green
(``ENDPOINT_NAME`` of the target function version) served since the deployment was created: the
pre-traffic hook's sample requests and whatever real traffic arrived. It fails when the ratio
exceeds ``MAX_5XX_RATIO``, at once. Only green's metrics are read, never blue's: blue's errors
say nothing about the new model. CloudWatch metrics lag by one to three minutes, so the hook
polls until green shows ``MIN_INVOCATIONS`` invocations (then it decides) or
``METRICS_WAIT_SECONDS`` (or the Lambda's own time) runs out; then it decides on what arrived.
Little or no traffic is NOT a failure: on a quiet API 10% of the traffic may be nothing, and
the samples already passed through the new version.

A reverse shift (CloudFormation rolling the stack back after the forward shift succeeded)
passes at once: failing it would leave the stack in UPDATE_ROLLBACK_FAILED.

Then, pass or fail, it lowers green's capacity floor back to ``AUTOSCALING_MIN_CAPACITY`` (the
pre-traffic hook may have raised it to match blue); a restore that keeps failing emits the
metric ``CapacityFloorRestoreFailures`` (an alarm pages on it) and does not change the verdict.
Last, it reports the outcome to CodeDeploy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from deployment_hooks_common import (
    Clock,
    Deadline,
    HookEvent,
    HookFailedError,
    SystemClock,
    read_deployment,
    resolve_endpoints,
    run_lifecycle_hook,
    wait_until,
)
from deployment_hooks_common.autoscaling import (
    describe_variant_target,
    register_variant_capacity,
)
from deployment_hooks_common.aws import TimeBoxedClient, bind_deadlines, client
from deployment_hooks_common.settings import (
    Env,
    float_or_default,
    int_or_default,
    optional_int,
    optional_str,
    require_str,
)

logger = Logger()

# Time kept back from the Lambda timeout to restore the floor and report to CodeDeploy.
SAFETY_MARGIN_SECONDS = 30.0
DEFAULT_MIN_INVOCATIONS = 1
DEFAULT_MAX_5XX_RATIO = 0.01
DEFAULT_METRICS_WAIT_SECONDS = 300.0
DEFAULT_METRICS_POLL_SECONDS = 30.0
METRIC_NAMESPACE = "AWS/SageMaker"
METRIC_PERIOD_SECONDS = 60
RESTORE_ATTEMPTS = 3
RESTORE_RETRY_SECONDS = 5.0
RESTORE_FAILURES_METRIC = "CapacityFloorRestoreFailures"
# Kept from the checks' time for restoring the floor (with its retries) before the report.
RESTORE_RESERVE_SECONDS = 30.0


@dataclass(frozen=True)
class Clients:
    codedeploy: BaseClient | TimeBoxedClient
    lambda_: BaseClient | TimeBoxedClient
    cloudwatch: BaseClient | TimeBoxedClient
    autoscaling: BaseClient | TimeBoxedClient


@dataclass(frozen=True)
class Settings:
    variant_name: str
    min_invocations: int
    max_5xx_ratio: float
    restore_min_capacity: int | None
    metrics_wait_seconds: float
    metrics_poll_seconds: float
    model_name: str | None = None
    metrics_namespace: str | None = None

    @classmethod
    def from_env(cls, env: Env) -> Settings:
        return cls(
            variant_name=require_str(env, "VARIANT_NAME"),
            min_invocations=int_or_default(
                env, "MIN_INVOCATIONS", DEFAULT_MIN_INVOCATIONS, minimum=1
            ),
            max_5xx_ratio=float_or_default(env, "MAX_5XX_RATIO", DEFAULT_MAX_5XX_RATIO),
            restore_min_capacity=optional_int(env, "AUTOSCALING_MIN_CAPACITY", minimum=0),
            metrics_wait_seconds=float_or_default(
                env, "METRICS_WAIT_SECONDS", DEFAULT_METRICS_WAIT_SECONDS
            ),
            metrics_poll_seconds=float_or_default(
                env, "METRICS_POLL_SECONDS", DEFAULT_METRICS_POLL_SECONDS, minimum=1.0
            ),
            model_name=optional_str(env, "MODEL_NAME"),
            metrics_namespace=optional_str(env, "METRICS_NAMESPACE"),
        )


@dataclass(frozen=True)
class TrafficCounts:
    invocations: float
    errors_5xx: float

    @property
    def error_ratio(self) -> float:
        if self.invocations > 0:
            return self.errors_5xx / self.invocations
        return math.inf if self.errors_5xx > 0 else 0.0


def floor_to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _metric_query(query_id: str, metric_name: str, endpoint: str, variant: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": METRIC_NAMESPACE,
                "MetricName": metric_name,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            "Period": METRIC_PERIOD_SECONDS,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def green_traffic(
    cloudwatch: BaseClient | TimeBoxedClient,
    *,
    endpoint: str,
    variant: str,
    start: datetime,
    end: datetime,
) -> TrafficCounts:
    """Sums of ``Invocations`` and ``Invocation5XXErrors`` of one variant in [start, end)."""
    queries = [
        _metric_query("invocations", "Invocations", endpoint, variant),
        _metric_query("errors5xx", "Invocation5XXErrors", endpoint, variant),
    ]
    totals = {"invocations": 0.0, "errors5xx": 0.0}
    request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        response = cloudwatch.get_metric_data(**request)
        for result in response.get("MetricDataResults", []):
            totals[result["Id"]] += sum(result.get("Values", []))
        token = response.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    return TrafficCounts(invocations=totals["invocations"], errors_5xx=totals["errors5xx"])


def verify_green_traffic(
    cloudwatch: BaseClient | TimeBoxedClient,
    *,
    green: str,
    since: datetime,
    settings: Settings,
    clock: Clock,
    deadline: Deadline,
) -> str:
    start = floor_to_minute(since)
    counts = TrafficCounts(invocations=0.0, errors_5xx=0.0)

    def enough_traffic() -> bool:
        nonlocal counts
        end = floor_to_minute(clock.now()) + timedelta(seconds=METRIC_PERIOD_SECONDS)
        counts = green_traffic(
            cloudwatch, endpoint=green, variant=settings.variant_name, start=start, end=end
        )
        logger.info(
            "green traffic so far",
            extra={"invocations": counts.invocations, "errors_5xx": counts.errors_5xx},
        )
        if counts.error_ratio > settings.max_5xx_ratio:
            raise HookFailedError(
                f"green endpoint {green} answered {counts.errors_5xx:g} of "
                f"{counts.invocations:g} invocations with 5xx errors (ratio "
                f"{counts.error_ratio:.4f} > MAX_5XX_RATIO {settings.max_5xx_ratio})"
            )
        return counts.invocations >= settings.min_invocations

    waited_from = clock.monotonic()
    enough = wait_until(
        enough_traffic,
        deadline=deadline.sooner(settings.metrics_wait_seconds),
        interval=settings.metrics_poll_seconds,
    )
    judged = (
        f"green endpoint {green} served {counts.invocations:g} invocation(s) since "
        f"{start.isoformat()} with {counts.errors_5xx:g} 5xx error(s) "
        f"(ratio {counts.error_ratio:.4f} <= {settings.max_5xx_ratio})"
    )
    if enough:
        return judged
    # A quiet API: what arrived in the wait is all there is to judge, and it passed.
    return (
        f"{judged}; fewer than MIN_INVOCATIONS {settings.min_invocations} after waiting "
        f"{clock.monotonic() - waited_from:.0f} s for metrics (a quiet API), so the verdict "
        "rests on these and on the pre-traffic samples"
    )


def restore_capacity_floor(
    autoscaling: BaseClient | TimeBoxedClient,
    *,
    green: str,
    variant: str,
    min_capacity: int,
    clock: Clock,
) -> bool:
    """Set green's MinCapacity back to the configured value, keeping its MaxCapacity.

    Tries ``RESTORE_ATTEMPTS`` times. Never raises: a floor left raised costs money but must not
    stop the report. Returns whether the floor is (now) the configured one.
    """
    for attempt in range(1, RESTORE_ATTEMPTS + 1):
        try:
            target = describe_variant_target(autoscaling, green, variant)
            if target is None:
                logger.warning("green has no scalable target; no capacity floor to restore")
                return True
            if target["MinCapacity"] == min_capacity:
                logger.info("green's capacity floor is the configured minimum")
                return True
            register_variant_capacity(
                autoscaling,
                green,
                variant,
                min_capacity=min_capacity,
                max_capacity=target["MaxCapacity"],
            )
            logger.info(
                "restored green's capacity floor",
                extra={"from": target["MinCapacity"], "to": min_capacity},
            )
            return True
        except Exception:
            logger.exception(
                "could not restore green's capacity floor",
                extra={"green_endpoint": green, "min_capacity": min_capacity, "attempt": attempt},
            )
            if attempt < RESTORE_ATTEMPTS:
                clock.sleep(RESTORE_RETRY_SECONDS)
    return False


def count_restore_failure(settings: Settings) -> None:
    """One ``CapacityFloorRestoreFailures`` (EMF, dimension ``ModelName``): an alarm on it pages
    on-call, who must lower green's floor by hand (the log has the endpoint and the value)."""
    if settings.metrics_namespace is None or settings.model_name is None:
        logger.error("no METRICS_NAMESPACE/MODEL_NAME: cannot count the failed restore")
        return
    metrics = EphemeralMetrics(namespace=settings.metrics_namespace, service="")
    metrics.add_dimension(name="ModelName", value=settings.model_name)
    metrics.add_metric(name=RESTORE_FAILURES_METRIC, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def check_post_traffic(
    deployment_id: str,
    *,
    clients: Clients,
    settings: Settings,
    clock: Clock,
    deadline: Deadline,
) -> str:
    deployment = read_deployment(clients.codedeploy, deployment_id)
    endpoints = resolve_endpoints(clients.lambda_, deployment.shift)
    try:
        if deployment.shift.is_reverse:
            return (
                f"reverse shift back to version {deployment.shift.target_version} (endpoint "
                f"{endpoints.green}): CloudFormation is rolling the stack back; passes unchecked"
            )
        return verify_green_traffic(
            clients.cloudwatch,
            green=endpoints.green,
            since=deployment.create_time,
            settings=settings,
            clock=clock,
            deadline=deadline.earlier_by(RESTORE_RESERVE_SECONDS),
        )
    finally:
        if settings.restore_min_capacity is not None and not restore_capacity_floor(
            clients.autoscaling,
            green=endpoints.green,
            variant=settings.variant_name,
            min_capacity=settings.restore_min_capacity,
            clock=clock,
        ):
            count_restore_failure(settings)


CLIENTS = Clients(
    codedeploy=client("codedeploy"),
    lambda_=client("lambda"),
    cloudwatch=client("cloudwatch"),
    autoscaling=client("application-autoscaling"),
)
CLOCK: Clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str | None]:
    deadline = Deadline.from_context(context, CLOCK, SAFETY_MARGIN_SECONDS)
    bind_deadlines(CLIENTS, deadline, report_margin=SAFETY_MARGIN_SECONDS)

    def check(hook: HookEvent) -> str:
        settings = Settings.from_env(os.environ)
        return check_post_traffic(
            hook.deployment_id, clients=CLIENTS, settings=settings, clock=CLOCK, deadline=deadline
        )

    result = run_lifecycle_hook(event, codedeploy=CLIENTS.codedeploy, check=check, logger=logger)
    return result.as_dict()
