"""EndpointAutoscaling, EndpointAlarms and AlertsTopic on the real ProdStack and DevStack."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match

from safe_sagemaker.config import load_environments
from safe_sagemaker.constructs.endpoint_autoscaling import (
    EndpointAutoscaling,
    target_from_load_test,
)
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint

PROD = next(e for e in load_environments() if e.name == "prod")


def test_scalable_target_per_autoscaled_model(prod_template: Any) -> None:
    for model in PROD.models:
        assert model.autoscaling is not None
        prod_template.has_resource_properties(
            "AWS::ApplicationAutoScaling::ScalableTarget",
            {
                "ResourceId": f"endpoint/{PROD.endpoint_name(model)}/variant/primary",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ServiceNamespace": "sagemaker",
                "MinCapacity": model.autoscaling.min_capacity,
                "MaxCapacity": model.autoscaling.max_capacity,
                # Application Auto Scaling's service-linked role, not a role of ours.
                "RoleARN": {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [
                                Match.string_like_regexp(
                                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                                )
                            ]
                        ),
                    ]
                },
            },
        )


@pytest.mark.parametrize(("target", "scale_in", "scale_out"), [(500, 300, 60), (1200, 300, 60)])
def test_target_tracking_on_invocations_per_instance(
    prod_template: Any, target: int, scale_in: int, scale_out: int
) -> None:
    prod_template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "TargetValue": target,
                "ScaleInCooldown": scale_in,
                "ScaleOutCooldown": scale_out,
            },
        },
    )


def test_dev_burstable_model_has_no_autoscaling(dev_template: Any) -> None:
    dev_template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)


def test_load_test_formula() -> None:
    assert target_from_load_test(40, 0.5) == 1200
    with pytest.raises(ValueError, match="safety_factor"):
        target_from_load_test(40, 0)


@pytest.fixture(scope="module")
def scratch_stack() -> Stack:
    return Stack(App(), "Scratch")


def _endpoint(stack: Stack, construct_id: str, instance_type: str, **kwargs: Any) -> ModelEndpoint:
    return ModelEndpoint(
        stack,
        construct_id,
        endpoint_name=f"scratch-{construct_id.lower()}",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/img:v1",
        model_data_url="s3://bucket/model.tar.gz",
        instance_type=instance_type,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("instance_type", "props", "message"),
    [
        ("ml.t2.medium", {"max_capacity": 2, "target_invocations_per_instance": 10}, "burstable"),
        ("ml.t3.large", {"max_capacity": 2, "target_invocations_per_instance": 10}, "burstable"),
        (
            "ml.m5.large",
            {"min_capacity": 3, "max_capacity": 2, "target_invocations_per_instance": 10},
            "max_capacity",
        ),
        ("ml.m5.large", {"max_capacity": 2}, "exactly one"),
    ],
)
def test_autoscaling_rejects_bad_props_early(
    scratch_stack: Stack, instance_type: str, props: dict[str, Any], message: str
) -> None:
    endpoint = _endpoint(scratch_stack, f"E{abs(hash((instance_type, str(props))))}", instance_type)
    with pytest.raises(ValueError, match=message):
        EndpointAutoscaling(scratch_stack, f"S{endpoint.node.id}", endpoint=endpoint, **props)


def test_autoscaling_rejects_serverless(scratch_stack: Stack) -> None:
    endpoint = _endpoint(scratch_stack, "Serverless", "ml.m5.large", serverless_memory_size_mb=2048)
    with pytest.raises(ValueError, match="serverless"):
        EndpointAutoscaling(
            scratch_stack,
            "ServerlessScaling",
            endpoint=endpoint,
            max_capacity=2,
            target_invocations_per_instance=10,
        )


ALARMS = [
    ("Invocation5XXErrors", "Sum", 5),
    ("Invocation4XXErrors", "Sum", 50),
    ("ModelLatency", None, 500 * 1000),  # microseconds
    ("OverheadLatency", None, 200 * 1000),
]


@pytest.mark.parametrize(("metric", "statistic", "threshold"), ALARMS)
def test_endpoint_alarm_thresholds_and_actions(
    prod_template: Any, metric: str, statistic: str | None, threshold: int
) -> None:
    fraud = PROD.models[0]
    expected: dict[str, Any] = {
        "MetricName": metric,
        "Namespace": "AWS/SageMaker",
        "Dimensions": Match.array_with(
            [{"Name": "EndpointName", "Value": PROD.endpoint_name(fraud)}]
        ),
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": Match.string_like_regexp("^Alerts")}],
        "OKActions": [{"Ref": Match.string_like_regexp("^Alerts")}],
    }
    if statistic:
        expected["Statistic"] = statistic
    else:
        expected["ExtendedStatistic"] = "p99"
    prod_template.has_resource_properties("AWS::CloudWatch::Alarm", expected)


def test_every_alarm_notifies_the_alerts_topic(prod_template: Any) -> None:
    for alarm in prod_template.find_resources("AWS::CloudWatch::Alarm").values():
        actions = alarm["Properties"].get("AlarmActions", [])
        assert actions, f"alarm without action: {alarm['Properties'].get('AlarmDescription')}"


def test_alerts_topic_is_kms_encrypted_and_ssl_only(prod_template: Any) -> None:
    prod_template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}
    )
    prod_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
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
            }
        },
    )
    prod_template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-oncall@example.com"}
    )
    prod_template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_alarms_of_this_account_may_publish_to_the_alerts_topic(prod_template: Any) -> None:
    """The SSL-only topic policy replaces SNS's default policy, so CloudWatch (which publishes as
    the service) needs an explicit Allow in it and in the key policy."""
    prod_template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sns:Publish",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    prod_template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "Description": "Encrypts the alerts topic",
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            }
                        )
                    ]
                )
            },
        },
    )
