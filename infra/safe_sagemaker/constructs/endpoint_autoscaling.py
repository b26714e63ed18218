"""Target-tracking autoscaling of a SageMaker endpoint variant's instance count."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from constructs import Construct

from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.stack_facts import stack_facts
from safe_sagemaker.instance_types import is_burstable

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Application Auto Scaling's own role for SageMaker, created by AWS on first use; a role of ours
# would only add a second principal that can resize the endpoint.
SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def target_from_load_test(max_requests_per_second: float, safety_factor: float) -> int:
    """AWS's formula: invocations per instance a minute = max RPS x safety factor x 60."""
    if max_requests_per_second <= 0:
        raise ValueError("max_requests_per_second must be positive")
    if not 0 < safety_factor <= 1:
        raise ValueError("safety_factor must be in (0, 1]")
    return max(1, round(max_requests_per_second * safety_factor * 60))


class EndpointAutoscaling(Construct):
    """Scales a variant's DesiredInstanceCount to hold SageMakerVariantInvocationsPerInstance at a
    target.

    Created resources: ``scalable_target`` and its target-tracking policy ``policy``.
    Attributes: ``target_value`` (invocations per instance a minute), ``resource_id``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
        min_capacity: int = 1,
        max_capacity: int,
        target_invocations_per_instance: int | None = None,
        max_requests_per_second: float | None = None,
        safety_factor: float = 0.5,
        scale_in_cooldown: Duration = Duration.minutes(5),
        scale_out_cooldown: Duration = Duration.minutes(1),
    ) -> None:
        """
        :param endpoint: the endpoint whose variant to scale.
        :param min_capacity: fewest instances. Default: 1.
        :param max_capacity: most instances.
        :param target_invocations_per_instance: the target a minute per instance. Give this or
            ``max_requests_per_second``.
        :param max_requests_per_second: load-tested maximum requests a second one instance
            serves; the target becomes max_requests_per_second x safety_factor x 60.
        :param safety_factor: share of the tested maximum to aim for. Default: 0.5.
        :param scale_in_cooldown: wait after a scale-in. Default: 5 minutes.
        :param scale_out_cooldown: wait after a scale-out. Default: 1 minute.
        """
        super().__init__(scope, construct_id)
        if endpoint.instance_type is None:
            raise ValueError("serverless endpoints scale on their own and cannot be autoscaled")
        if is_burstable(endpoint.instance_type):
            raise ValueError(
                f"burstable instance type {endpoint.instance_type} cannot autoscale; choose a "
                "non-burstable type such as ml.m5.large"
            )
        if min_capacity < 1:
            raise ValueError("min_capacity must be at least 1")
        if max_capacity < min_capacity:
            raise ValueError(
                f"max_capacity ({max_capacity}) must not be below min_capacity ({min_capacity})"
            )
        if (target_invocations_per_instance is None) == (max_requests_per_second is None):
            raise ValueError(
                "give exactly one of target_invocations_per_instance or max_requests_per_second"
            )
        if target_invocations_per_instance is not None:
            if target_invocations_per_instance < 1:
                raise ValueError("target_invocations_per_instance must be positive")
            self.target_value = target_invocations_per_instance
        else:
            assert max_requests_per_second is not None
            self.target_value = target_from_load_test(max_requests_per_second, safety_factor)

        self.resource_id = f"endpoint/{endpoint.endpoint_name}/variant/{endpoint.variant_name}"
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=self.resource_id,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role=iam.Role.from_role_arn(
                self,
                "ServiceLinkedRole",
                stack_facts(self).arn("iam", "role", SERVICE_LINKED_ROLE, region=""),
            ),
        )
        # The resource id names the endpoint literally, so order the creation explicitly.
        self.scalable_target.node.add_dependency(endpoint.endpoint)
        self.policy = self.scalable_target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=self.target_value,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )
