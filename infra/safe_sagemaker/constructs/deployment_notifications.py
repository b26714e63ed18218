"""CodeDeploy deployment outcomes of one application, as messages on an SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from safe_sagemaker.constructs.grants import rule_target_role
from safe_sagemaker.nag import acknowledge

# Final states of a deployment. A rollback ends the failed deployment in FAILURE (or STOP) and
# runs as a deployment of its own, whose outcome is reported the same way.
DEFAULT_STATES = ("SUCCESS", "FAILURE", "STOP")


class DeploymentNotifications(Construct):
    """An EventBridge rule that publishes a line per finished deployment of ``application``.

    EventBridge publishes with a role of the rule's own (``sns:Publish`` on the topic, use of
    its KMS key), so neither the topic policy nor the key policy has to trust
    ``events.amazonaws.com``, which would let any rule of the account publish.

    Created resources: ``rule`` (and its role).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: codedeploy.ILambdaApplication,
        topic: sns.ITopic,
        states: Sequence[str] = DEFAULT_STATES,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        """
        :param application: whose deployments to report.
        :param topic: where to publish.
        :param dead_letter_queue: where an event goes that EventBridge could not publish
            (e.g. ``AlertsTopic.dead_letter_queue``). Default: none (the event is dropped).
        :param states: deployment states to report. Default: SUCCESS, FAILURE and STOP.
        """
        super().__init__(scope, construct_id)
        if not states:
            raise ValueError("give at least one deployment state to report")
        field = events.EventField.from_path
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Reports finished CodeDeploy deployments ({', '.join(states)})",
            event_pattern=events.EventPattern(
                source=["aws.codedeploy"],
                detail_type=["CodeDeploy Deployment State-change Notification"],
                detail={"application": [application.application_name], "state": list(states)},
            ),
        )
        self.rule.add_target(
            targets.SnsTopic(
                topic,
                authorize_using_role=True,
                role=rule_target_role(self.rule),
                dead_letter_queue=dead_letter_queue,
                message=events.RuleTargetInput.from_text(
                    f"CodeDeploy deployment {field('$.detail.deploymentId')} of "
                    f"{field('$.detail.application')}/{field('$.detail.deploymentGroup')} "
                    f"ended {field('$.detail.state')} at {field('$.time')} in "
                    f"{field('$.region')}"
                ),
            )
        )
        acknowledge_topic_publish(self.rule)


def acknowledge_topic_publish(rule: events.Rule) -> None:
    """The finding of a rule publishing to a KMS-encrypted topic with a role of its own."""
    acknowledge(
        rule,
        "AwsSolutions-IAM5",
        "kms:GenerateDataKey* is how Topic.grantPublish lets a publisher encrypt for an "
        "SSE-KMS topic; it is scoped to the alerts topic's key ARN alone.",
        findings=("Action::kms:GenerateDataKey*",),
    )
