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

from safe_sagemaker.constructs.dead_letter_queue import admit_rules
from safe_sagemaker.nag import acknowledge
from safe_sagemaker.parts import Part, split_into_parts

# A group's name is at most 63 characters, 66 quoted in the list, the rest of the pattern
# about 150: 25 make about 1,800 of EventBridge's 2,048.
GROUPS_PER_RULE = 25


class ModelApprovalTrigger(Construct):
    """EventBridge rules on "SageMaker Model Package State Change" to ``Approved`` in
    ``model_package_groups`` that start ``pipeline``: one rule per ``GROUPS_PER_RULE`` groups,
    as a rule's pattern names its groups and EventBridge takes at most 2,048 characters.

    Created resources: ``rules`` (``rule`` is the first); ``role`` (EventBridge's, may start
    this pipeline only); ``dead_letter_queue`` (events EventBridge could not deliver after its
    retries, kept 14 days).
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
        self.rules = [
            self._rule(
                part,
                pipeline,
                retry_attempts,
                max_event_age or Duration.hours(2),
            )
            for part in split_into_parts(list(model_package_groups), GROUPS_PER_RULE, "Rule")
        ]
        self.rule = self.rules[0]

    def _rule(
        self,
        part: Part[str],
        pipeline: codepipeline.IPipeline,
        retry_attempts: int,
        max_event_age: Duration,
    ) -> events.Rule:
        rule = events.Rule(
            self,
            part.construct_id,
            description="A model package version approved in the registry starts the pipeline"
            + part.description_suffix,
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": part.items, "ModelApprovalStatus": ["Approved"]},
            ),
        )
        # The target grants the role codepipeline:StartPipelineExecution on this pipeline only.
        rule.add_target(
            targets.CodePipeline(
                pipeline,
                event_role=self.role,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=retry_attempts,
                max_event_age=max_event_age,
            )
        )
        # CDK's CodePipeline target, unlike its other targets, does not let the rule send to
        # the dead-letter queue: without this statement an undeliverable approval is lost.
        admit_rules(self.dead_letter_queue, {"ArnEquals": {"aws:SourceArn": rule.rule_arn}})
        return rule
