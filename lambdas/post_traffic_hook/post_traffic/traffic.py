"""Did green take traffic, and well? Its ``Invocations`` and ``Invocation5XXErrors`` since the
deployment began, polled from CloudWatch until there are enough or the wait is over."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from deployment_hooks_common import Clock, Deadline, HookFailedError, wait_until
from deployment_hooks_common.aws import TimeBoxedClient

from post_traffic.settings import Settings

logger = Logger(child=True)

METRIC_NAMESPACE = "AWS/SageMaker"
METRIC_PERIOD_SECONDS = 60


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
