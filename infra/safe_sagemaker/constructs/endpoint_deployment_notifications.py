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
from safe_sagemaker.parts import Part, split_into_parts

DETAIL_TYPE = "SageMaker Endpoint Deployment State Change"
# An endpoint's ARN is at most 125 characters (``arn:aws-us-gov:sagemaker:ap-southeast-2:``,
# the account, ``:endpoint/`` and a 63-character name), 128 quoted in the list, the rest of
# the pattern about 110: 14 make 1,902 of EventBridge's 2,048, leaving room
# should EventBridge count the spaces of a pattern written with them; 15 would leave 25.
ENDPOINTS_PER_RULE = 14


class EndpointDeploymentNotifications(Construct):
    """EventBridge rules that publish every "SageMaker Endpoint Deployment State Change" event
    of the given endpoints, whole: each step, bake, rollback and the end of a guarded update,
    the counterpart of ``DeploymentNotifications`` for CodeDeploy. SageMaker may send several
    events per change (AWS says so); the message is the event itself, as SageMaker sent it.

    One rule per ``ENDPOINTS_PER_RULE`` endpoints: a rule's pattern names its endpoints' ARNs,
    and EventBridge takes patterns of at most 2,048 characters (``safe_sagemaker.parts``).
    EventBridge publishes with a role of each rule's own, as ``DeploymentNotifications`` does.

    Created resources: ``rules`` (each with its role); ``rule`` is the first.
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
        self.rules = [
            self._rule(part, topic, dead_letter_queue)
            for part in split_into_parts(list(endpoint_arns), ENDPOINTS_PER_RULE, "Rule")
        ]
        self.rule = self.rules[0]

    def _rule(
        self, part: Part[str], topic: sns.ITopic, dead_letter_queue: sqs.IQueue | None
    ) -> events.Rule:
        rule = events.Rule(
            self,
            part.construct_id,
            description="Reports SageMaker's in-place updates of the endpoint-guardrails "
            f"endpoints{part.description_suffix}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"], detail_type=[DETAIL_TYPE], resources=part.items
            ),
        )
        rule.add_target(
            targets.SnsTopic(
                topic,
                authorize_using_role=True,
                role=rule_target_role(rule),
                dead_letter_queue=dead_letter_queue,
            )
        )
        acknowledge_topic_publish(rule)
        return rule
