"""The post-traffic check of one deployment: judge green's traffic (a reverse shift passes),
then, pass or fail, restore green's capacity floor."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.client import BaseClient
from deployment_hooks_common import (
    Clock,
    Deadline,
    read_deployment,
    resolve_endpoints,
    reverse_shift_summary,
)
from deployment_hooks_common.aws import TimeBoxedClient

from post_traffic.capacity_floor import count_restore_failure, restore_capacity_floor
from post_traffic.settings import Settings
from post_traffic.traffic import verify_green_traffic

# Kept from the checks' time for restoring the floor (with its retries) before the report.
RESTORE_RESERVE_SECONDS = 30.0


@dataclass(frozen=True)
class Clients:
    codedeploy: BaseClient | TimeBoxedClient
    lambda_: BaseClient | TimeBoxedClient
    cloudwatch: BaseClient | TimeBoxedClient
    autoscaling: BaseClient | TimeBoxedClient


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
        reverse = reverse_shift_summary(deployment.shift, endpoints)
        if reverse is not None:
            return reverse
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
