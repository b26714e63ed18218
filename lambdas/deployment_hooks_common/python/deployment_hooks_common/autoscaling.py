"""Application Auto Scaling for a SageMaker endpoint variant."""

from __future__ import annotations

from typing import Any

from botocore.client import BaseClient

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def variant_resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def describe_variant_target(
    autoscaling: BaseClient, endpoint_name: str, variant_name: str
) -> dict[str, Any] | None:
    """The variant's scalable target, or None when it is not registered."""
    response = autoscaling.describe_scalable_targets(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceIds=[variant_resource_id(endpoint_name, variant_name)],
        ScalableDimension=SCALABLE_DIMENSION,
    )
    targets: list[dict[str, Any]] = response.get("ScalableTargets", [])
    return targets[0] if targets else None


def register_variant_capacity(
    autoscaling: BaseClient,
    endpoint_name: str,
    variant_name: str,
    *,
    min_capacity: int,
    max_capacity: int,
) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace=SERVICE_NAMESPACE,
        ResourceId=variant_resource_id(endpoint_name, variant_name),
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )
