"""The dead-letter queue of EventBridge targets and SNS subscriptions, one way everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from safe_sagemaker.nag import acknowledge


def dead_letter_queue(
    scope: Construct, reason: str, construct_id: str = "DeadLetterQueue"
) -> sqs.Queue:
    """An SSL-only queue that keeps undeliverable messages 14 days (SQS's maximum), with
    SQS-managed encryption so that SNS and EventBridge can send to it without a key grant.
    ``reason`` says whose dead letters it holds: the acknowledgement that the queue has no
    dead-letter queue of its own."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"), reason)
    return queue


def admit_rules(queue: sqs.IQueue, source_arn_condition: Mapping[str, Any]) -> None:
    """Let EventBridge send to ``queue`` the events of the rules that ``source_arn_condition``
    names by ``aws:SourceArn`` (``{"ArnEquals": ...}`` for one rule, ``{"ArnLike": ...}`` for
    rules named alike), as AWS documents it for a rule's dead-letter queue."""
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sqs:SendMessage"],
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            resources=[queue.queue_arn],
            conditions=dict(source_arn_condition),
        )
    )
