"""Start a pipeline when a model package version is approved in the SageMaker Model Registry."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from safe_sagemaker.nag import acknowledge


class ModelApprovalTrigger(Construct):
    """An EventBridge rule on "SageMaker Model Package State Change" to ``Approved`` in
    ``model_package_groups`` that starts ``pipeline``.

    Created resources: ``rule``; ``role`` (EventBridge's, may start this pipeline only);
    ``dead_letter_queue`` (events EventBridge could not deliver after its retries, kept 14 days).
    The registry must be in the pipeline's account and region (EventBridge delivers SageMaker's
    events to the default bus of the account that owns the group).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: codepipeline.IPipeline,
        model_package_groups: Sequence[str],
        retry_attempts: int = 8,
        max_event_age: Duration | None = None,
    ) -> None:
        """:param retry_attempts: EventBridge's retries of a failed start. Default: 8.
        :param max_event_age: how long EventBridge keeps retrying. Default: 2 hours."""
        super().__init__(scope, construct_id)
        if not model_package_groups:
            raise ValueError("model_package_groups must name at least one group")
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "this queue is itself the dead-letter queue of the EventBridge target; a queue "
            "behind it would only move the same undeliverable approval events again",
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge starts the delivery pipeline on a model approval",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description="A model package version approved in the registry starts the pipeline",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={
                    "ModelPackageGroupName": list(model_package_groups),
                    "ModelApprovalStatus": ["Approved"],
                },
            ),
        )
        # The target grants the role codepipeline:StartPipelineExecution on this pipeline only.
        self.rule.add_target(
            targets.CodePipeline(
                pipeline,
                event_role=self.role,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=retry_attempts,
                max_event_age=max_event_age or Duration.hours(2),
            )
        )
