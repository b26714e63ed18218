"""The SNS topic every alarm and deployment notification goes to, encrypted and SSL-only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.dead_letter_queue import admit_rules, dead_letter_queue

# CloudWatch alarms publish as the service itself, so both the key policy and the topic policy
# must let it in. (EventBridge rules publish with roles of their own, via grant_publish.)
_ALARMS = "cloudwatch.amazonaws.com"


class AlertsTopic(Construct):
    """A KMS-encrypted SNS topic that refuses non-SSL publishers, with optional e-mail
    subscriptions, and a dead-letter queue for alerts that could not be delivered.

    The queue is the DLQ of every e-mail subscription and is meant for the EventBridge rules
    that publish here (``targets.SnsTopic(..., dead_letter_queue=dead_letter_queue)``, or
    ``dead_letter_queue_for_rules`` for rules of many models); its alarm
    ``undelivered_alarm`` says when it holds anything.

    Created resources: ``key`` (customer-managed, rotated), ``topic``, ``dead_letter_queue``
    (SSE-SQS, SSL only, 14 days), ``undelivered_alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        emails: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param emails: addresses subscribed to every alert. Default: none.
        :param removal_policy: what happens to the key when the stack is deleted. Default:
            ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alerts topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        this_account = {"StringEquals": {"aws:SourceAccount": stack.account}}
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                # What SNS asks of KMS for a publisher: a data key, and Decrypt to use it.
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                principals=[iam.ServicePrincipal(_ALARMS)],
                resources=["*"],  # in a key policy "*" means this key
                conditions=this_account,
            )
        )
        self.topic = sns.Topic(self, "Resource", master_key=self.key, enforce_ssl=True)
        # enforce_ssl gives the topic a policy of its own, which replaces SNS's default one (the
        # one that lets same-account services publish): without this statement no alarm of this
        # account could notify.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal(_ALARMS)],
                resources=[self.topic.topic_arn],
                conditions=this_account,
            )
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "this queue is itself the dead-letter queue of the alert subscriptions and of the "
            "rules that publish alerts; cdk-nag recognizes only queues' redrive policies",
        )
        self._rule_name_patterns: set[str] = set()
        for email in emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue)
            )
        self.alarm_action = cloudwatch_actions.SnsAction(self.topic)
        # Through the topic all the same: a single failed subscription or rule leaves the others.
        self.undelivered_alarm = threshold_alarm(
            self,
            "Undelivered",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=0,
            description="Alerts could not be delivered (to an e-mail subscription, or from an "
            "EventBridge rule to the topic): read them from the alerts dead-letter queue",
            alarm_action=self.alarm_action,
        )

    def dead_letter_queue_for_rules(self, scope: Construct, rule_name_pattern: str) -> sqs.IQueue:
        """``dead_letter_queue`` for the EventBridge rules of this account and region whose
        names match ``rule_name_pattern`` (IAM ``ArnLike``: ``*`` for any characters, e.g.
        ``prod-*``), as a reference in ``scope``'s stack to pass as a target's
        ``dead_letter_queue``. The rules must have such names (``events.Rule(rule_name=...)``).

        One statement of the queue's policy admits them all, added on the first call for a
        pattern. Given the queue itself, CDK adds a statement per rule, and SQS takes at most
        20 statements and 8 KB in a queue's policy: the rules of a 50-model environment would
        not fit."""
        if rule_name_pattern not in self._rule_name_patterns:
            self._rule_name_patterns.add(rule_name_pattern)
            rules = Stack.of(self).format_arn(
                service="events", resource="rule", resource_name=rule_name_pattern
            )
            admit_rules(self.dead_letter_queue, {"ArnLike": {"aws:SourceArn": rules}})
        # A reference has no policy of its own to add to, so CDK adds no statement per rule.
        reference_id = f"{self.node.id}DeadLetterQueue"
        existing = scope.node.try_find_child(reference_id)
        if existing is not None:
            return cast(sqs.IQueue, existing)
        return sqs.Queue.from_queue_arn(scope, reference_id, self.dead_letter_queue.queue_arn)

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to publish (and to use the key for it)."""
        # What SNS needs of a publisher to an SSE-KMS topic: a data key, and Decrypt to use it.
        # (Topic.grant_publish would add kms:GenerateDataKey*, with the WithoutPlaintext and
        # pair variants publishing never uses.)
        self.key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn]
        )
