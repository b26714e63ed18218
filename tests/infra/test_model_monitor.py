"""Model Monitor: an hourly data-quality schedule only where a baseline is configured, with
KMS, network isolation, a least-privilege role and an alarm on failed or violating runs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from constructs import Construct

from safe_sagemaker.config import load_environments
from safe_sagemaker.constructs.alerts_topic import AlertsTopic
from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
from safe_sagemaker.constructs.model_monitor import ANALYZER_ACCOUNTS, HOURLY, DataQualityMonitor
from tests.conftest import Synthesized
from tests.infra.cfn_text import as_list, render, resources, statements

ENVS = {env.name: env for env in load_environments()}
PROD = ENVS["prod"]
(MONITORED,) = [model for model in PROD.models if model.monitoring is not None]
ENDPOINT = PROD.endpoint_name(MONITORED)
BUCKET = "prod-model-capture-<AWS::AccountId>-<AWS::Region>"


@pytest.fixture(scope="module")
def prod(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.templates["ProdStack"]


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources(template, resource_type).items()
    return found


def test_schedule_exists_only_for_the_model_with_a_baseline(
    synthesized: Synthesized, prod: dict[str, Any]
) -> None:
    _, schedule = only(prod, "AWS::SageMaker::MonitoringSchedule")
    assert schedule["Properties"]["EndpointName"] == ENDPOINT
    dev = synthesized.templates["DevStack"]
    assert resources(dev, "AWS::SageMaker::MonitoringSchedule") == {}
    assert resources(dev, "AWS::SageMaker::DataQualityJobDefinition") == {}


def test_schedule_runs_the_definition_hourly_once_the_endpoint_exists(
    prod: dict[str, Any],
) -> None:
    _, schedule = only(prod, "AWS::SageMaker::MonitoringSchedule")
    definition_id, definition = only(prod, "AWS::SageMaker::DataQualityJobDefinition")
    props = schedule["Properties"]
    assert props["MonitoringScheduleName"] == ENDPOINT
    config = props["MonitoringScheduleConfig"]
    assert config["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
    assert config["MonitoringType"] == "DataQuality"
    assert config["MonitoringJobDefinitionName"] == definition["Properties"]["JobDefinitionName"]
    (endpoint_id,) = [
        logical_id
        for logical_id, endpoint in resources(prod, "AWS::SageMaker::Endpoint").items()
        if endpoint["Properties"]["EndpointName"] == ENDPOINT
    ]
    assert {definition_id, endpoint_id} <= set(schedule["DependsOn"])
    assert endpoint_id in definition["DependsOn"]


def test_job_definition_compares_the_endpoints_captures_with_the_baseline(
    prod: dict[str, Any],
) -> None:
    _, definition = only(prod, "AWS::SageMaker::DataQualityJobDefinition")
    props = definition["Properties"]
    assert MONITORED.monitoring is not None
    assert props["DataQualityBaselineConfig"] == {
        "StatisticsResource": {"S3Uri": MONITORED.monitoring.baseline_statistics_uri},
        "ConstraintsResource": {"S3Uri": MONITORED.monitoring.baseline_constraints_uri},
    }
    assert props["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == ENDPOINT
    (output,) = props["DataQualityJobOutputConfig"]["MonitoringOutputs"]
    assert render(output["S3Output"]["S3Uri"]) == f"s3://{BUCKET}/monitoring/{ENDPOINT}"
    assert render(props["DataQualityAppSpecification"]["ImageUri"]) == (
        "<ModelMonitorAnalyzerAccounts[<AWS::Region>].account>.dkr.ecr.<AWS::Region>."
        "<AWS::URLSuffix>/sagemaker-model-monitor-analyzer:latest"
    )
    assert props["JobResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert props["StoppingCondition"] == {"MaxRuntimeInSeconds": 30 * 60}


def test_job_is_isolated_and_encrypted(prod: dict[str, Any]) -> None:
    _, definition = only(prod, "AWS::SageMaker::DataQualityJobDefinition")
    props = definition["Properties"]
    assert props["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }
    keys = {
        key["Properties"]["Description"]: logical_id
        for logical_id, key in resources(prod, "AWS::KMS::Key").items()
    }
    capture_key = next(v for k, v in keys.items() if "captured SageMaker" in k)
    data_key = next(v for k, v in keys.items() if "endpoint volumes" in k)
    output_key = props["DataQualityJobOutputConfig"]["KmsKeyId"]
    assert output_key == {"Fn::GetAtt": [capture_key, "Arn"]}
    volume_key = props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"]
    assert volume_key == {"Fn::GetAtt": [data_key, "Arn"]}


def test_analyzer_image_mapping_covers_the_published_regions(prod: dict[str, Any]) -> None:
    mapping = prod["Mappings"]["ModelMonitorAnalyzerAccounts"]
    assert mapping["us-east-1"] == {"account": "156813124566"}
    assert mapping["eu-west-1"] == {"account": "468650794304"}
    assert {region: v["account"] for region, v in mapping.items()} == ANALYZER_ACCOUNTS


def monitor_role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (role_id,) = [
        logical_id
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if "Model Monitor" in role["Properties"].get("Description", "")
    ]
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def test_role_reads_only_this_endpoints_captures_and_the_baseline(prod: dict[str, Any]) -> None:
    s3 = {}
    for statement in monitor_role_statements(prod):
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                s3.setdefault(action, []).extend(render(r) for r in as_list(statement["Resource"]))
    assert MONITORED.monitoring is not None
    baseline = [
        uri.replace("s3://", "arn:<AWS::Partition>:s3:::")
        for uri in (
            MONITORED.monitoring.baseline_statistics_uri,
            MONITORED.monitoring.baseline_constraints_uri,
        )
    ]
    bucket_arn = f"arn:<AWS::Partition>:s3:::{BUCKET}"
    assert sorted(s3["s3:GetObject"]) == sorted(
        [f"{bucket_arn}/datacapture/{ENDPOINT}/*", *baseline]
    )
    assert s3["s3:ListBucket"] == [bucket_arn]
    assert s3["s3:PutObject"] == [f"{bucket_arn}/monitoring/{ENDPOINT}/*"]
    assert not any(action.endswith("*") for action in s3)


def test_role_uses_wildcards_only_where_aws_has_no_resource_level_permissions(
    prod: dict[str, Any],
) -> None:
    for statement in monitor_role_statements(prod):
        if statement["Resource"] == "*":
            assert as_list(statement["Action"]) in (
                ["ecr:GetAuthorizationToken"],
                ["cloudwatch:PutMetricData"],
            )
        for action in as_list(statement["Action"]):
            assert not action.endswith("*"), action


def test_role_creates_volume_key_grants_only_for_aws_resources(prod: dict[str, Any]) -> None:
    (grant,) = [
        s for s in monitor_role_statements(prod) if "kms:CreateGrant" in as_list(s["Action"])
    ]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_failed_or_violating_runs_reach_the_alerts_topic(prod: dict[str, Any]) -> None:
    schedule_id, _ = only(prod, "AWS::SageMaker::MonitoringSchedule")
    rules = [
        (logical_id, rule)
        for logical_id, rule in resources(prod, "AWS::Events::Rule").items()
        if "MonitoringScheduleArn" in str(rule["Properties"].get("EventPattern"))
    ]
    ((rule_id, rule),) = rules
    # Named after the endpoint, like the schedule: the alerts queue admits rules by name.
    assert rule["Properties"]["Name"] == ENDPOINT
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Processing Job State Change"]
    assert pattern["detail"]["MonitoringScheduleArn"] == [
        {"Fn::GetAtt": [schedule_id, "MonitoringScheduleArn"]}
    ]
    assert pattern["detail"]["$or"] == [
        {"ProcessingJobStatus": ["Failed", "Stopped"]},
        {"ExitMessage": [{"prefix": "CompletedWithViolations"}]},
    ]
    (topic_id,) = resources(prod, "AWS::SNS::Topic")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": topic_id}
    # Published with a role of its own: no policy has to trust events.amazonaws.com.
    assert "RoleArn" in target
    assert "<detail-ExitMessage>" in render(target["InputTransformer"]["InputTemplate"])

    (alarm,) = [
        alarm
        for alarm in resources(prod, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/Events"
    ]
    props = alarm["Properties"]
    assert props["MetricName"] == "TriggeredRules"
    assert props["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["AlarmActions"] == [{"Ref": topic_id}]


# --- the construct on its own ----------------------------------------------------------------


def build(region: str | None = None, **props: Any) -> tuple[DataQualityMonitor, Stack]:
    env = Environment(account="123456789012", region=region) if region else None
    stack = Stack(App(), "Lib", env=env)
    bucket = DataCaptureBucket(stack, "Capture", bucket_name="lib-capture-bucket")
    monitor = DataQualityMonitor(
        stack,
        "Monitor",
        capture_bucket=bucket,
        baseline_statistics_uri="s3://baselines-bucket/m/statistics.json",
        baseline_constraints_uri="s3://baselines-bucket/m/constraints.json",
        volume_encryption_key=kms.Key(stack, "Key", enable_key_rotation=True),
        **{"endpoint_name": "lib-endpoint-1", **props},
    )
    return monitor, stack


def test_a_stack_with_a_region_gets_the_literal_image() -> None:
    _, stack = build("eu-central-1")
    template = Template.from_stack(stack).to_json()
    assert "Mappings" not in template
    _, definition = only(template, "AWS::SageMaker::DataQualityJobDefinition")
    image = render(definition["Properties"]["DataQualityAppSpecification"]["ImageUri"])
    assert image.startswith("048819808253.dkr.ecr.eu-central-1.")


def test_a_region_without_an_analyzer_image_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"no Model Monitor analyzer image .* mars-north-1"):
        build("mars-north-1")


def test_schedule_and_definition_names_follow_the_endpoint() -> None:
    monitor, stack = build()
    # The rule's name is CloudFormation's unless given (one would replace it).
    (rule,) = resources(Template.from_stack(stack).to_json(), "AWS::Events::Rule").values()
    assert "Name" not in rule["Properties"]
    assert monitor.schedule_name == "lib-endpoint-1"
    assert monitor.job_definition_name.startswith("lib-endpoint-1-")
    changed, _ = build(instance_type="ml.c5.xlarge")
    # A new definition is a replacement, which a named resource needs a new name for.
    assert changed.job_definition_name != monitor.job_definition_name


def test_default_schedule_is_hourly() -> None:
    assert HOURLY == "cron(0 * ? * * *)"


@pytest.mark.parametrize("name", ["Upper-Case", "-leading", "x" * 64])
def test_bad_endpoint_name_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="endpoint_name"):
        build(endpoint_name=name)


def test_monitors_share_one_dead_letter_statement_of_the_alerts_queue() -> None:
    stack = Stack(App(), "Lib")
    alerts = AlertsTopic(stack, "Alerts")
    bucket = DataCaptureBucket(stack, "Capture", bucket_name="lib-capture-bucket")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    for name in ("lib-a-1", "lib-b-1"):
        scope = Construct(stack, name)
        DataQualityMonitor(
            scope,
            "Monitor",
            endpoint_name=name,
            capture_bucket=bucket,
            baseline_statistics_uri="s3://baselines-bucket/m/statistics.json",
            baseline_constraints_uri="s3://baselines-bucket/m/constraints.json",
            volume_encryption_key=key,
            alerts_topic=alerts.topic,
            findings_rule_name=name,
            dead_letter_queue=alerts.dead_letter_queue_for_rules(scope, "lib-*"),
        )
        # Asked again (another rule of the same scope), the same reference and statement.
        alerts.dead_letter_queue_for_rules(scope, "lib-*")
    template = Template.from_stack(stack).to_json()
    queue_id = next(iter(resources(template, "AWS::SQS::Queue")))
    rules = resources(template, "AWS::Events::Rule").values()
    assert sorted(rule["Properties"]["Name"] for rule in rules) == ["lib-a-1", "lib-b-1"]
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    (policy,) = resources(template, "AWS::SQS::QueuePolicy").values()
    from_rules = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    (statement,) = from_rules
    assert render(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":rule/lib-*")
