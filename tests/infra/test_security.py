"""Security hardening that the compliance packs ask for, as the templates show it: alerts that
cannot be delivered land in a dead-letter queue (and raise an alarm), the access-logs bucket
is versioned."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.conftest import Synthesized
from tests.infra.cfn_text import resources

STACKS = ("DevStack", "ProdStack")


def dead_letter_queue(template: dict[str, Any]) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, queue in resources(template, "AWS::SQS::Queue").items()
        if "/Alerts/DeadLetterQueue/" in queue["Metadata"]["aws:cdk:path"]
    ]
    return logical_id


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_target_has_the_alerts_dead_letter_queue(
    synthesized: Synthesized, stack: str
) -> None:
    """EventBridge delivers to SNS asynchronously: an event it cannot publish goes to the DLQ
    instead of being dropped (deployment outcomes, Model Monitor findings)."""
    template = synthesized.templates[stack]
    queue = dead_letter_queue(template)
    rules = resources(template, "AWS::Events::Rule")
    assert rules
    for rule in rules.values():
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}


def test_email_subscriptions_redrive_to_the_dead_letter_queue(prod_template: Any) -> None:
    prod_template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
        },
    )
    for subscription in prod_template.find_resources("AWS::SNS::Subscription").values():
        assert "RedrivePolicy" in subscription["Properties"]


@pytest.mark.parametrize("stack", STACKS)
def test_dead_letter_queue_is_encrypted_ssl_only_and_alarmed(
    synthesized: Synthesized, stack: str
) -> None:
    template = synthesized.templates[stack]
    queue = dead_letter_queue(template)
    assertions = synthesized.assertions[stack]
    assertions.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    assertions.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )
    assertions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            "Threshold": 0,
            "AlarmActions": Match.any_value(),
        },
    )


def test_access_logs_bucket_is_versioned(synthesized: Synthesized) -> None:
    buckets = resources(synthesized.templates["ProdStack"], "AWS::S3::Bucket")
    (access_logs,) = [
        bucket
        for bucket in buckets.values()
        if bucket["Metadata"]["aws:cdk:path"] == "ProdStack/AccessLogs/Resource/Resource"
    ]
    properties = access_logs["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
