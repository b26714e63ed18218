"""SageMaker's in-place endpoint updates (deployment guardrails), as messages on an SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from safe_sagemaker.constructs.deployment_notifications import acknowledge_topic_publish
from safe_sagemaker.constructs.grants import rule_target_role

DETAIL_TYPE = "SageMaker Endpoint Deployment State Change"


class EndpointDeploymentNotifications(Construct):
    """An EventBridge rule that publishes every "SageMaker Endpoint Deployment State Change" event
    of the given endpoints, whole: each step, bake, rollback and the end of a guarded update,
    the counterpart of ``DeploymentNotifications`` for CodeDeploy. SageMaker may send several
    events per change (AWS says so); the message is the event itself, as SageMaker sent it.

    EventBridge publishes with a role of the rule's own, as ``DeploymentNotifications`` does.

    Created resources: ``rule`` (and its role).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_arns: Sequence[str],
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        """
        :param endpoint_arns: the endpoints whose updates to report (ARNs name them in
            lowercase, as SageMaker does).
        :param topic: where to publish.
        :param dead_letter_queue: where an event goes that EventBridge could not publish
            (e.g. ``AlertsTopic.dead_letter_queue``). Default: none (the event is dropped).
        """
        super().__init__(scope, construct_id)
        if not endpoint_arns:
            raise ValueError("give at least one endpoint ARN whose updates to report")
        self.rule = events.Rule(
            self,
            "Rule",
            description="Reports SageMaker's in-place updates of the endpoint-guardrails endpoints",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[DETAIL_TYPE],
                resources=list(endpoint_arns),
            ),
        )
        self.rule.add_target(
            targets.SnsTopic(
                topic,
                authorize_using_role=True,
                role=rule_target_role(self.rule),
                dead_letter_queue=dead_letter_queue,
            )
        )
        acknowledge_topic_publish(self.rule)
