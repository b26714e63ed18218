"""The dead-letter queue of EventBridge targets and SNS subscriptions, one way everywhere."""

from __future__ import annotations

from aws_cdk import Duration
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
