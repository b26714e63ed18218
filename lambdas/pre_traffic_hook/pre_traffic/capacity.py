"""Green must be able to take blue's load before traffic moves: match blue's instance count
(within green's maximum) by raising green's capacity floor, and wait until green runs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from deployment_hooks_common import Deadline, Endpoints, HookFailedError, wait_until
from deployment_hooks_common.autoscaling import register_variant_capacity
from deployment_hooks_common.aws import TimeBoxedClient
from deployment_hooks_common.continuation import MIN_ROUND_SECONDS

from pre_traffic.settings import Settings

logger = Logger(child=True)

IN_SERVICE = "InService"
# Statuses in which a scaling endpoint is still on its way; any other one is a failure.
SCALING_STATUSES = frozenset({IN_SERVICE, "Updating", "SystemUpdating"})


def _variant(description: Mapping[str, Any], variant_name: str) -> Mapping[str, Any] | None:
    variants: list[Mapping[str, Any]] = description.get("ProductionVariants", [])
    for variant in variants:
        if variant.get("VariantName") == variant_name:
            return variant
    return None


def _green_instance_count(description: Mapping[str, Any], variant_name: str) -> int:
    variant = _variant(description, variant_name)
    if variant is None:
        raise HookFailedError(
            f"green endpoint {description.get('EndpointName')} has no variant {variant_name!r}"
        )
    if "CurrentInstanceCount" not in variant:
        raise HookFailedError(
            f"green endpoint {description.get('EndpointName')} variant {variant_name!r} reports "
            "no instance count, but autoscaling limits are configured for it"
        )
    return int(variant["CurrentInstanceCount"])


def _is_missing_endpoint(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "Could not find endpoint" in str(
        details.get("Message", "")
    )


def blue_instance_count(sagemaker: BaseClient, blue: str, variant_name: str) -> int | None:
    """Blue's running instances: the variant's if blue has it, else the sum of its variants.

    None when blue is gone or runs no instances (serverless): there is nothing to match.
    """
    try:
        description = sagemaker.describe_endpoint(EndpointName=blue)
    except ClientError as exc:
        if _is_missing_endpoint(exc):
            logger.warning("blue endpoint no longer exists", extra={"blue_endpoint": blue})
            return None
        raise
    variant = _variant(description, variant_name)
    if variant is not None:
        count = variant.get("CurrentInstanceCount")
        return None if count is None else int(count)
    counts = [
        int(v["CurrentInstanceCount"])
        for v in description.get("ProductionVariants", [])
        if "CurrentInstanceCount" in v
    ]
    return sum(counts) if counts else None


@dataclass
class _Observed:
    status: str = "unknown"
    instances: int = 0


class NeedsAnotherRunError(Exception):
    """Green is still scaling out when this run's time is up, but the hook has time left."""

    def __init__(self, floor: int, observed: str) -> None:
        super().__init__(f"green still scaling out to {floor} instances ({observed})")
        self.floor = floor


def wait_for_green_capacity(
    sagemaker: BaseClient | TimeBoxedClient,
    *,
    green: str,
    variant_name: str,
    floor: int,
    run_deadline: Deadline,
    hook_deadline: Deadline,
    poll_seconds: float,
) -> None:
    """Wait until green is InService with at least ``floor`` instances.

    Raises ``NeedsAnotherRunError`` when this run's time is up first but the hook's is not
    (by at least a worthwhile round), ``HookFailedError`` when the hook's time is up.
    """
    observed = _Observed()

    def reached() -> bool:
        description = sagemaker.describe_endpoint(EndpointName=green)
        observed.status = description["EndpointStatus"]
        variant = _variant(description, variant_name) or {}
        observed.instances = int(variant.get("CurrentInstanceCount", 0))
        logger.info(
            "green capacity",
            extra={"status": observed.status, "instances": observed.instances, "floor": floor},
        )
        if observed.status not in SCALING_STATUSES:
            reason = description.get("FailureReason")
            raise HookFailedError(
                f"green endpoint {green} went {observed.status} while scaling out to {floor} "
                f"instances" + (f": {reason}" if reason else "")
            )
        return observed.status == IN_SERVICE and observed.instances >= floor

    hook_ends_first = hook_deadline.at <= run_deadline.at
    deadline = hook_deadline if hook_ends_first else run_deadline
    if wait_until(reached, deadline=deadline, interval=poll_seconds):
        return
    last_seen = f"last seen {observed.status} with {observed.instances}"
    if not hook_ends_first and hook_deadline.remaining() >= MIN_ROUND_SECONDS:
        raise NeedsAnotherRunError(floor, last_seen)
    raise HookFailedError(
        f"green endpoint {green} did not reach {floor} instances before the hook's time ran "
        f"out ({last_seen}); refusing to shift traffic to an endpoint smaller than blue"
    )


def match_capacity(
    sagemaker: BaseClient | TimeBoxedClient,
    autoscaling: BaseClient | TimeBoxedClient,
    *,
    endpoints: Endpoints,
    green_description: Mapping[str, Any],
    settings: Settings,
    wait: Callable[[int], None],
) -> str:
    """Make green at least as large as blue is right now (within green's maximum)."""
    limits = settings.capacity
    if limits is None:
        return "no autoscaling configured, capacity matching skipped"
    if endpoints.blue is None:
        return "no blue endpoint to match (first deployment or same endpoint)"
    variant_name = settings.variant_name
    blue_count = blue_instance_count(sagemaker, endpoints.blue, variant_name)
    if blue_count is None:
        return f"blue endpoint {endpoints.blue} runs no instances to match"
    green_count = _green_instance_count(green_description, variant_name)
    if green_count >= blue_count:
        return f"green already runs {green_count} instance(s), blue {blue_count}"
    floor = min(blue_count, limits.max_capacity)
    if floor < blue_count:
        logger.warning(
            "blue runs more instances than green may scale to; capping at green's maximum",
            extra={"blue_instances": blue_count, "max_capacity": limits.max_capacity},
        )
    if green_count >= floor:
        return f"green already runs {green_count} instance(s), its maximum; blue {blue_count}"

    logger.info(
        "raising green's capacity floor to match blue",
        extra={"green_instances": green_count, "blue_instances": blue_count, "floor": floor},
    )
    register_variant_capacity(
        autoscaling,
        endpoints.green,
        variant_name,
        min_capacity=floor,
        max_capacity=limits.max_capacity,
    )
    wait(floor)
    return f"raised green's capacity floor to {floor} (blue runs {blue_count}) and green reached it"
