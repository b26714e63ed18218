"""CodeDeploy AfterAllowTraffic hook: did the green endpoint really take traffic, and well?

It succeeds only when the green endpoint (``ENDPOINT_NAME`` of the target function version)
received at least ``MIN_INVOCATIONS`` invocations since the deployment was created and its
``Invocation5XXErrors / Invocations`` ratio is at most ``MAX_5XX_RATIO``. Only green's metrics
are read, never blue's: blue's errors say nothing about the new model. CloudWatch metrics lag by
one to three minutes, so the hook polls until the condition holds or ``METRICS_WAIT_SECONDS``
(or the Lambda's own time) runs out; a ratio over the threshold fails at once.

Then, pass or fail, it lowers green's capacity floor back to ``AUTOSCALING_MIN_CAPACITY`` (the
pre-traffic hook may have raised it to match blue), and reports the outcome to CodeDeploy.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
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
from deployment_hooks_common.aws import client
from deployment_hooks_common.settings import (
    Env,
    float_or_default,
    int_or_default,
    optional_int,
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


@dataclass(frozen=True)
class Clients:
    codedeploy: BaseClient
    lambda_: BaseClient
    cloudwatch: BaseClient
    autoscaling: BaseClient


@dataclass(frozen=True)
class Settings:
    variant_name: str
    min_invocations: int
    max_5xx_ratio: float
    restore_min_capacity: int | None
    metrics_wait_seconds: float
    metrics_poll_seconds: float

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
    cloudwatch: BaseClient, *, endpoint: str, variant: str, start: datetime, end: datetime
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
    cloudwatch: BaseClient,
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
    if not wait_until(
        enough_traffic,
        deadline=deadline.sooner(settings.metrics_wait_seconds),
        interval=settings.metrics_poll_seconds,
    ):
        raise HookFailedError(
            f"green endpoint {green} received only {counts.invocations:g} invocation(s) since "
            f"{start.isoformat()} (MIN_INVOCATIONS {settings.min_invocations}) after waiting "
            f"{clock.monotonic() - waited_from:.0f} s for metrics; it did not demonstrably "
            "take traffic"
        )
    return (
        f"green endpoint {green} served {counts.invocations:g} invocation(s) since "
        f"{start.isoformat()} with {counts.errors_5xx:g} 5xx error(s) "
        f"(ratio {counts.error_ratio:.4f} <= {settings.max_5xx_ratio})"
    )


def restore_capacity_floor(
    autoscaling: BaseClient, *, green: str, variant: str, min_capacity: int
) -> None:
    """Set green's MinCapacity back to the configured value, keeping its MaxCapacity.

    Never raises: a floor left raised costs money but must not stop the report.
    """
    try:
        target = describe_variant_target(autoscaling, green, variant)
        if target is None:
            logger.warning("green has no scalable target; no capacity floor to restore")
            return
        if target["MinCapacity"] == min_capacity:
            logger.info("green's capacity floor is already the configured minimum")
            return
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
    except Exception:
        logger.exception(
            "could not restore green's capacity floor; it stays raised until fixed by hand",
            extra={"green_endpoint": green, "min_capacity": min_capacity},
        )


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
        return verify_green_traffic(
            clients.cloudwatch,
            green=endpoints.green,
            since=deployment.create_time,
            settings=settings,
            clock=clock,
            deadline=deadline,
        )
    finally:
        if settings.restore_min_capacity is not None:
            restore_capacity_floor(
                clients.autoscaling,
                green=endpoints.green,
                variant=settings.variant_name,
                min_capacity=settings.restore_min_capacity,
            )


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

    def check(hook: HookEvent) -> str:
        settings = Settings.from_env(os.environ)
        return check_post_traffic(
            hook.deployment_id, clients=CLIENTS, settings=settings, clock=CLOCK, deadline=deadline
        )

    result = run_lifecycle_hook(event, codedeploy=CLIENTS.codedeploy, check=check, logger=logger)
    return result.as_dict()
