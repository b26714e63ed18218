"""A deployed model's rollout machinery in moto (CodeDeploy, CloudWatch, Lambda), and the
ListStackResources answer that names it, as CloudFormation would name a CDK stack's resources."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"
APPLICATION = "DevStack-Deployments7DB91225-ABC"
GROUP = "DevStack-frauddetectorDeploymentDeploymentGroupAD024323-DEF"
FUNCTION = "DevStack-frauddetectorFrontendFunction4953726C-GHI"
ALARMS = (
    "DevStack-frauddetectorRollbackAlarmsEndpoint5XX-1",
    "DevStack-frauddetectorRollbackAlarmsModelErrors-2",
    "DevStack-frauddetectorRollbackAlarmsModelLatencyP99-3",
)


@dataclass
class World:
    deployment_id: str
    resources: list[dict[str, Any]]

    def set_status(self, status: str, message: str | None = None) -> None:
        from moto.codedeploy.models import codedeploy_backends

        deployment = codedeploy_backends[ACCOUNT][REGION].deployments[self.deployment_id]
        deployment.status = status


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def build_world() -> World:
    """Inside moto: a front end with versions 1 and 2 (live 90/10), three rollback alarms (the
    second in ALARM) and a deployment group with one deployment, InProgress."""
    role = boto3.client("iam").create_role(RoleName="frontend", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    lambda_ = boto3.client("lambda", region_name=REGION)
    lambda_.create_function(
        FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": _zip()},
    )  # fmt: skip
    lambda_.publish_version(FunctionName=FUNCTION)
    lambda_.update_function_configuration(FunctionName=FUNCTION, Description="green")
    lambda_.publish_version(FunctionName=FUNCTION)
    lambda_.create_alias(
        FunctionName=FUNCTION, Name="live", FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )  # fmt: skip
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="Invocation5XXErrors", Namespace="AWS/SageMaker",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=2,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName=ALARMS[1], StateValue="ALARM", StateReason="test")
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName=APPLICATION, computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName=APPLICATION, deploymentGroupName=GROUP,
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce",
        alarmConfiguration={"enabled": True, "alarms": [{"name": name} for name in ALARMS]},
    )  # fmt: skip
    deployment_id = codedeploy.create_deployment(
        applicationName=APPLICATION, deploymentGroupName=GROUP,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
    )["deploymentId"]  # fmt: skip
    world = World(deployment_id, resources=stack_resources())
    world.set_status("InProgress")
    return world


def summary(logical: str, physical: str, kind: str) -> dict[str, Any]:
    """One entry of a ListStackResources answer."""
    return {
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
        "ResourceStatus": "UPDATE_COMPLETE",
    }


ALIAS_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}:live"


def stack_resources() -> list[dict[str, Any]]:
    return [
        summary("Deployments7DB91225", APPLICATION, "AWS::CodeDeploy::Application"),
        summary(
            "frauddetectorDeploymentDeploymentGroupServiceRole44D101E3", "role", "AWS::IAM::Role"
        ),
        summary(
            "frauddetectorDeploymentDeploymentGroupAD024323",
            GROUP,
            "AWS::CodeDeploy::DeploymentGroup",
        ),
        summary("frauddetectorFrontendAliasC124AC53", ALIAS_ARN, "AWS::Lambda::Alias"),
        summary(
            "frauddetectorEndpointAlarms5xxAB12", "not-a-rollback-alarm", "AWS::CloudWatch::Alarm"
        ),
        *(
            summary(f"frauddetectorRollbackAlarms{n}", name, "AWS::CloudWatch::Alarm")
            for n, name in enumerate(ALARMS)
        ),
    ]


def stub_resources(stubber: Any, stack: str = "DevStack") -> None:
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": stack_resources()}, {"StackName": stack}
    )


@dataclass(frozen=True)
class NestedResources:
    """ListStackResources of a stack whose model sits in a nested stack of its own: the
    top-level stack's answer, the nested stack's ARN (its physical id there) and its answer."""

    parent: list[dict[str, Any]]
    arn: str
    nested: list[dict[str, Any]]


def nested_stack_resources(
    parent: dict[str, Any], nested: dict[str, Any], model: str, stack: str
) -> NestedResources:
    """Every resource of the synthesized templates, as CloudFormation lists them, ``model``'s
    rollout machinery under the world's names (the CodeDeploy application in the parent; the
    deployment group, the alias and the rollback alarms in the nested stack), the rest under
    made-up names."""
    prefix = model.replace("-", "")
    (logical,) = [
        k
        for k, v in parent["Resources"].items()
        if v["Type"] == "AWS::CloudFormation::Stack" and k.startswith(prefix)
    ]
    arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}-{logical}-1A2B3C/0a1b2c3d"
    rollback = sorted(
        k
        for k, v in nested["Resources"].items()
        if v["Type"] == "AWS::CloudWatch::Alarm" and k.startswith(f"{prefix}RollbackAlarms")
    )
    names = {
        logical: arn,
        **{k: name for k, name in zip(rollback, ALARMS, strict=True)},
    }
    by_type = {
        "AWS::CodeDeploy::Application": APPLICATION,
        "AWS::CodeDeploy::DeploymentGroup": GROUP,
        "AWS::Lambda::Alias": ALIAS_ARN,
    }

    def answer(template: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            summary(k, names.get(k) or by_type.get(v["Type"]) or f"{stack}-{k}-X", v["Type"])
            for k, v in template["Resources"].items()
        ]

    return NestedResources(answer(parent), arn, answer(nested))


def stub_nested_resources(stubber: Any, stack: str, resources: NestedResources) -> None:
    stubber.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources.parent}, {"StackName": stack}
    )
    stubber.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": resources.nested},
        {"StackName": resources.arn},
    )
