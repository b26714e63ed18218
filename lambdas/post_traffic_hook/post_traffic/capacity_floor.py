"""After the verdict: green's capacity floor back to the configured minimum (the pre-traffic
hook may have raised it to match blue), and a metric when that keeps failing."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from botocore.client import BaseClient
from deployment_hooks_common import Clock
from deployment_hooks_common.autoscaling import (
    describe_variant_target,
    register_variant_capacity,
)
from deployment_hooks_common.aws import TimeBoxedClient

from post_traffic.settings import Settings

logger = Logger(child=True)

RESTORE_ATTEMPTS = 3
RESTORE_RETRY_SECONDS = 5.0
RESTORE_FAILURES_METRIC = "CapacityFloorRestoreFailures"


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
