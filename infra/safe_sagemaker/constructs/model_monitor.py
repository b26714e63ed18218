"""SageMaker Model Monitor data-quality checks of one endpoint's captured traffic."""

from __future__ import annotations

import hashlib
import json
import re

from aws_cdk import Aws, CfnMapping, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from safe_sagemaker.config import parse_s3_uri
from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
from safe_sagemaker.constructs.grants import (
    account_service_principal,
    add_statement,
    grant_image_pull,
    rule_target_role,
)
from safe_sagemaker.constructs.private_network import (
    SAGEMAKER_NETWORK_INTERFACE_ACTIONS,
    NetworkPlacement,
    allow_network_interfaces,
)
from safe_sagemaker.constructs.stack_facts import StackFacts, stack_facts
from safe_sagemaker.durations import to_seconds
from safe_sagemaker.nag import acknowledge, wildcard_resource

HOURLY = "cron(0 * ? * * *)"
ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"
_FINDINGS_PERIOD = Duration.hours(1)  # the schedule's

# The AWS accounts that host the prebuilt Model Monitor analyzer image, by region (AWS docs,
# "Amazon SageMaker Model Monitor prebuilt container"; the SageMaker Python SDK's
# image_uri_config/model-monitor.json). Regions missing here have no published image.
ANALYZER_ACCOUNTS: dict[str, str] = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}

# Where the analyzer container reads captures and writes reports inside the job.
_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"
_NAME = re.compile(r"^[a-z0-9](?:-*[a-z0-9]){0,62}$")


def analyzer_account(scope: Construct) -> str:
    """The analyzer image's account for the stack's region: a literal for a stack with a region,
    a ``Fn::FindInMap`` on ``AWS::Region`` for an environment-agnostic one."""
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        try:
            return ANALYZER_ACCOUNTS[stack.region]
        except KeyError:
            raise ValueError(
                f"no Model Monitor analyzer image is published for region {stack.region}; "
                f"use one of {', '.join(sorted(ANALYZER_ACCOUNTS))} or remove monitoring"
            ) from None
    mapping_id = "ModelMonitorAnalyzerAccounts"
    mapping = stack.node.try_find_child(mapping_id)
    if not isinstance(mapping, CfnMapping):
        mapping = CfnMapping(
            stack,
            mapping_id,
            mapping={region: {"account": account} for region, account in ANALYZER_ACCOUNTS.items()},
        )
    return mapping.find_in_map(Aws.REGION, "account")


class DataQualityMonitor(Construct):
    """An hourly Model Monitor data-quality schedule on one endpoint, against a baseline.

    Every hour SageMaker runs the AWS-owned analyzer over the last hour of the endpoint's
    captures, compares them with the baseline statistics and constraints and writes a report to
    ``monitoring/<endpoint-name>/`` of the capture bucket. The job runs network-isolated, with
    its volume and its output KMS-encrypted, under a role that can read only this endpoint's
    captures and the two baseline files and write only this endpoint's reports.

    An execution that fails (or is stopped) or completes with constraint violations is a
    finding: an EventBridge rule matches SageMaker's documented "SageMaker Processing Job State
    Change" events of this schedule (``MonitoringScheduleArn``) whose status is
    ``Failed``/``Stopped`` or whose ``ExitMessage`` starts with ``CompletedWithViolations`` (what
    the analyzer writes when it finds violations). The rule sends the event's details (job,
    status, exit message, failure reason) to ``alerts_topic``, and ``alarm`` watches the rule's
    ``TriggeredRules`` metric, so the finding also has an alarm state for dashboards and the
    same alarm action as every other alarm.

    The schedule is named after the endpoint: a new (green) endpoint gets a new schedule, and
    the old one goes with the old endpoint. Name the rule as well (``findings_rule_name``, e.g.
    the endpoint's name) to let rules named alike share a dead-letter queue through one
    statement of its policy (``AlertsTopic.dead_letter_queue_for_rules``).

    Created resources: ``role``, ``job_definition``, ``schedule``, ``rule``, ``alarm``, and
    with ``network`` the role's ``network_interfaces_policy``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        capture_bucket: DataCaptureBucket,
        baseline_statistics_uri: str,
        baseline_constraints_uri: str,
        volume_encryption_key: kms.IKey,
        alerts_topic: sns.ITopic | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        findings_rule_name: str | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        instance_type: str = "ml.m5.xlarge",
        volume_size_gb: int = 20,
        max_runtime: Duration = Duration.minutes(30),
        schedule_expression: str = HOURLY,
        endpoint: IConstruct | None = None,
        network: NetworkPlacement | None = None,
    ) -> None:
        """
        :param endpoint_name: the monitored endpoint's literal name; also the schedule's name.
        :param capture_bucket: the bucket the endpoint captures to.
        :param baseline_statistics_uri: ``s3://`` URI of the baseline ``statistics.json``.
        :param baseline_constraints_uri: ``s3://`` URI of the baseline ``constraints.json``.
        :param volume_encryption_key: KMS key for the job instance's storage volume.
        :param alerts_topic: where failed or violating executions are reported, with details.
            Default: no notification (the alarm still changes state).
        :param dead_letter_queue: where a report goes that EventBridge could not publish to
            ``alerts_topic``. Default: none (the report is dropped).
        :param findings_rule_name: the findings rule's name (a new name replaces the rule).
            Default: one CloudFormation generates.
        :param alarm_action: action of ``alarm``. Default: none.
        :param instance_type: processing instance. Default: ``ml.m5.xlarge``.
        :param volume_size_gb: processing volume size. Default: 20.
        :param max_runtime: longest a run may take; must end before the next one. Default:
            30 minutes.
        :param schedule_expression: when to run. Default: hourly, ``cron(0 * ? * * *)``.
        :param endpoint: the endpoint resource when it is in the same stack: the definition and
            the schedule wait for it, as SageMaker refuses them for an endpoint that does not
            exist yet (the role does not, so the capture key's policy can name it). Default:
            the endpoint already exists.
        :param network: the VPC subnets and security groups of the processing job (its
            ``VpcConfig``), e.g. the monitored model's: SageMaker places the job's network
            interfaces there and reads the captures and writes the report through the VPC (a
            bucket policy that requires a VPC endpoint holds for the job too); the container
            itself stays network-isolated. The role gets the network-interface permissions
            SageMaker documents. The placement is part of the job definition's name; subnets
            or security groups made in the same stack count by their logical ids there, so
            replacing one under the same id needs another change of the definition. Default:
            SageMaker's own network.
        """
        super().__init__(scope, construct_id)
        if not _NAME.match(endpoint_name):
            raise ValueError(
                f"endpoint_name {endpoint_name!r} must be 1-63 lowercase letters, digits and "
                "inner hyphens (it also names the monitoring schedule)"
            )
        if to_seconds(max_runtime) > 3600 and schedule_expression == HOURLY:
            raise ValueError("max_runtime must not exceed one hour for an hourly schedule")
        facts = stack_facts(self)
        self.endpoint_name = endpoint_name
        self.schedule_name = endpoint_name

        # One role per endpoint (its id carries the endpoint name), as ModelEndpoint does: blue's
        # schedule keeps its own prefixes and role until cleanup instead of losing them mid-shift.
        self.role = iam.Role(
            self,
            f"Role-{endpoint_name}",
            assumed_by=account_service_principal(self, "sagemaker.amazonaws.com"),
            description=f"Runs Model Monitor data-quality jobs on endpoint {endpoint_name}",
        )
        capture_bucket.grant_read_captures(self.role, endpoint_name)
        capture_bucket.grant_write_reports(self.role, endpoint_name)
        baselines = [
            parse_s3_uri(uri) for uri in (baseline_statistics_uri, baseline_constraints_uri)
        ]
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    f"arn:{facts.partition}:s3:::{bucket}/{key}" for bucket, key in baselines
                ],
            ),
        )
        volume_encryption_key.grant(
            self.role,
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
        )
        # The processing instance's volume is encrypted through a grant made for it, and only
        # for an AWS resource.
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[volume_encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        )
        image_uri = self._grant_image_pull(facts)
        self._grant_logs_and_metrics(facts)

        output = sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
            s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                local_path=_OUTPUT_PATH,
                s3_uri=capture_bucket.s3_uri(capture_bucket.reports_prefix(endpoint_name)),
                s3_upload_mode="EndOfJob",
            )
        )
        vpc_config = (
            sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty(
                subnets=[subnet.subnet_id for subnet in network.subnets],
                security_group_ids=[group.security_group_id for group in network.security_groups],
            )
            if network is not None
            else None
        )
        # The schedule needs the definition's name, which the resource does not return, so the
        # name is set here. Every property of a definition forces its replacement, and a named
        # resource cannot be replaced under the same name: the name carries a hash of the
        # settings, so a change of settings is a change of name.
        placement = (
            # Resolved, so that IDs of resources in the stack hash as their logical ids.
            [Stack.of(self).resolve([vpc_config.subnets, vpc_config.security_group_ids])]
            if vpc_config is not None
            else []
        )
        settings = json.dumps(
            [
                endpoint_name,
                baseline_statistics_uri,
                baseline_constraints_uri,
                instance_type,
                volume_size_gb,
                to_seconds(max_runtime),
                *placement,
            ],
            sort_keys=True,
        )
        digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
        self.job_definition_name = f"{endpoint_name[:54]}-{digest}"
        self.job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "JobDefinition",
            job_definition_name=self.job_definition_name,
            role_arn=self.role.role_arn,
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=image_uri,
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=baseline_statistics_uri
                ),
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=baseline_constraints_uri
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path=_INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                monitoring_outputs=[output],
                kms_key_id=capture_bucket.key.key_arn,
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=instance_type,
                    volume_size_in_gb=volume_size_gb,
                    volume_kms_key_id=volume_encryption_key.key_arn,
                )
            ),
            network_config=sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=vpc_config,
            ),
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=int(to_seconds(max_runtime))
            ),
        )
        # SageMaker checks the role's permissions when it creates the definition and the jobs.
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.job_definition.node.add_dependency(policy)
        self.network = network
        self.network_interfaces_policy: iam.Policy | None = None
        if network is not None:
            self.network_interfaces_policy = allow_network_interfaces(
                self.role, self.role, SAGEMAKER_NETWORK_INTERFACE_ACTIONS, service="SageMaker"
            )
            self.job_definition.node.add_dependency(self.network_interfaces_policy)

        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Resource",
            monitoring_schedule_name=self.schedule_name,
            endpoint_name=endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name,
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=schedule_expression
                ),
            ),
        )
        self.schedule.node.add_dependency(self.job_definition)
        if endpoint is not None:
            self.job_definition.node.add_dependency(endpoint)
            self.schedule.node.add_dependency(endpoint)
        self.schedule_arn = self.schedule.attr_monitoring_schedule_arn

        self.rule = events.Rule(
            self,
            "FindingsRule",
            rule_name=findings_rule_name,
            description=f"Failed or violating Model Monitor executions on {endpoint_name}",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                detail={
                    "MonitoringScheduleArn": [self.schedule_arn],
                    "$or": [
                        {"ProcessingJobStatus": ["Failed", "Stopped"]},
                        {"ExitMessage": [{"prefix": "CompletedWithViolations"}]},
                    ],
                },
            ),
        )
        if alerts_topic is not None:
            detail = events.EventField.from_path
            report = capture_bucket.s3_uri(capture_bucket.reports_prefix(endpoint_name))
            self.rule.add_target(
                targets.SnsTopic(
                    alerts_topic,
                    dead_letter_queue=dead_letter_queue,
                    # A role of the rule's own, so that neither the topic's nor its key's policy
                    # has to trust events.amazonaws.com (any rule of the account).
                    authorize_using_role=True,
                    role=rule_target_role(self.rule),
                    message=events.RuleTargetInput.from_text(
                        f"Model Monitor on endpoint {endpoint_name}: execution "
                        f"{detail('$.detail.ProcessingJobName')} ended "
                        f"{detail('$.detail.ProcessingJobStatus')}. "
                        f"{detail('$.detail.ExitMessage')} {detail('$.detail.FailureReason')} "
                        f"Reports: {report}"
                    ),
                )
            )
            acknowledge(
                self.rule,
                "AwsSolutions-IAM5",
                "The rule's role publishes to the KMS-encrypted alerts topic; Topic.grantPublish "
                "gives it kms:GenerateDataKey* on that topic's key ARN only.",
                findings=("Action::kms:GenerateDataKey*",),
            )
        self.alarm = threshold_alarm(
            self,
            "FindingsAlarm",
            description=(
                f"A Model Monitor execution on {endpoint_name} failed or found constraint "
                "violations in the last hour; read the report under "
                f"{capture_bucket.reports_prefix(endpoint_name)} of the capture bucket."
            ),
            metric=self.metric_findings(),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            alarm_action=alarm_action,
        )

    def metric_findings(self, **props: object) -> cloudwatch.Metric:
        """Failed or violating executions: the findings rule's ``TriggeredRules`` (Sum, 1 h)."""
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.rule.rule_name},
            statistic="Sum",
            period=_FINDINGS_PERIOD,
            **props,  # type: ignore[arg-type]
        )

    def _grant_image_pull(self, facts: StackFacts) -> str:
        account = analyzer_account(self)
        registry = f"{account}.dkr.ecr.{facts.region}.{facts.stack.url_suffix}"
        # Scoped to the one AWS-owned analyzer repository.
        grant_image_pull(
            self.role,
            facts.arn("ecr", "repository", ANALYZER_REPOSITORY, account=account),
        )
        return f"{registry}/{ANALYZER_REPOSITORY}:latest"

    def _grant_logs_and_metrics(self, facts: StackFacts) -> None:
        log_group_arn = facts.arn("logs", "log-group", "/aws/sagemaker/ProcessingJobs", colon=True)
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=[log_group_arn],
            ),
        )
        log_streams = f"{log_group_arn}:log-stream:*"
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_streams]
            ),
        )
        # PutMetricData has no resource-level permissions; the namespace condition is the scope.
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={
                    "StringLike": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metric*"}
                },
            ),
        )
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level "
            "permissions (the latter is limited to Model Monitor's namespace by condition); log "
            "streams of SageMaker's shared /aws/sagemaker/ProcessingJobs group are named per job "
            "at run time; captures and reports are read and written under this endpoint's own "
            "prefixes only.",
            findings=("Resource::*", wildcard_resource(self, log_streams)),
        )
