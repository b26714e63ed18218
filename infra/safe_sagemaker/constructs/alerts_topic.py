"""The SNS topic every alarm and deployment notification goes to, encrypted and SSL-only."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# CloudWatch alarms publish as the service itself, so both the key policy and the topic policy
# must let it in. (EventBridge rules publish with roles of their own, via grant_publish.)
_ALARMS = "cloudwatch.amazonaws.com"


class AlertsTopic(Construct):
    """A KMS-encrypted SNS topic that refuses non-SSL publishers, with optional e-mail
    subscriptions.

    Created resources: ``key`` (customer-managed, rotated), ``topic``.
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
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
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
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.alarm_action = cloudwatch_actions.SnsAction(self.topic)

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to publish (and to use the key for it)."""
        self.key.grant_encrypt_decrypt(grantee)
        return self.topic.grant_publish(grantee)
