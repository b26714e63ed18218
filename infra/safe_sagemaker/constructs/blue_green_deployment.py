"""CodeDeploy blue/green for a model front end: the alias moves to the new version (and so to the
new endpoint) only through a pre-traffic hook, a traffic shift and a post-traffic hook."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.endpoint_autoscaling import SERVICE_LINKED_ROLE, EndpointAutoscaling
from safe_sagemaker.constructs.grants import account_service_principal, add_statement
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.model_frontend import METRICS_NAMESPACE, ModelFrontend
from safe_sagemaker.constructs.private_network import NetworkPlacement
from safe_sagemaker.constructs.python_function import (
    PythonFunction,
    code_from_folder,
    lambda_folder,
)
from safe_sagemaker.constructs.rollback_alarms import rollback_alarm_name_prefix
from safe_sagemaker.constructs.stack_facts import StackFacts, stack_facts
from safe_sagemaker.deployment_configs import HOOK_TIMEOUT_SECONDS, cdk_attribute
from safe_sagemaker.durations import to_seconds
from safe_sagemaker.nag import LAMBDA_DLQ, Ack, acknowledge, acknowledge_all, wildcard_resources

PRE_TRAFFIC_CODE = lambda_folder("pre_traffic_hook")
POST_TRAFFIC_CODE = lambda_folder("post_traffic_hook")
# Layer content root (code under python/deployment_hooks_common/) both hooks import.
HOOKS_COMMON_CODE = lambda_folder("deployment_hooks_common")
# Lambda's maximum. The pre-traffic hook may wait for green to scale out to blue's size, the
# post-traffic hook for CloudWatch to show green's traffic.
HOOK_TIMEOUT = Duration.seconds(HOOK_TIMEOUT_SECONDS)
# CodeDeploy fails a lifecycle hook after one hour: the pre-traffic hook's runs together stop
# waiting for green's capacity 5 minutes before that (see deployment_hooks_common.continuation).
MAX_HOOK_DURATION = Duration.minutes(55)
_AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
# The tag (value: the model's endpoint name prefix) on the endpoint configs and scalable targets
# that the hooks' capacity statements are held to.
SCOPE_TAG = "safe-sagemaker:endpoints"


def lambda_deployment_config(name: str) -> codedeploy.ILambdaDeploymentConfig:
    """The predefined configuration a config file calls ``name`` (``Canary10Percent5Minutes``)."""
    config: codedeploy.ILambdaDeploymentConfig = getattr(
        codedeploy.LambdaDeploymentConfig, cdk_attribute(name)
    )
    return config


class BlueGreenDeployment(Construct):
    """A CodeDeploy deployment group on a ``ModelFrontend``'s alias, with both lifecycle hooks.

    When a new model version replaces the endpoint, CloudFormation publishes a new function
    version and updates the alias through ``UpdatePolicy: CodeDeployLambdaAliasUpdate``:
    CodeDeploy runs the pre-traffic hook (green is InService, as large as blue, and answers the
    sample requests through the new version), shifts traffic by ``deployment_config`` while the
    ``rollback_alarms`` watch, then runs the post-traffic hook (green received traffic and its
    5xx ratio is low). A failed hook, an alarm or a stop rolls the alias back, and
    CloudFormation's rollback then deletes green; on success its cleanup deletes blue.

    Created resources: ``pre_traffic_hook``, ``post_traffic_hook`` (functions),
    ``deployment_group`` and its ``deployment_role`` (an inline least-privilege policy, not
    ``AWSCodeDeployRoleForLambdaLimited``). Attributes: ``rollback_alarms``. With
    ``autoscaling``, the endpoint's config and scalable target get the ``SCOPE_TAG`` tag
    that the hooks' capacity permissions are held to.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        frontend: ModelFrontend,
        endpoint: ModelEndpoint,
        layers: Sequence[lambda_.ILayerVersion],
        autoscaling: EndpointAutoscaling | None = None,
        application: codedeploy.ILambdaApplication | None = None,
        deployment_config: codedeploy.ILambdaDeploymentConfig | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        sample_requests: Sequence[Mapping[str, Any]] = (),
        min_invocations: int = 1,
        max_5xx_ratio: float = 0.01,
        metrics_wait: Duration = Duration.minutes(5),
        metrics_poll_interval: Duration = Duration.seconds(30),
        capacity_poll_interval: Duration = Duration.seconds(20),
        pre_traffic_code: lambda_.Code | None = None,
        post_traffic_code: lambda_.Code | None = None,
        log_level: str = "INFO",
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        network: NetworkPlacement | None = None,
        max_hook_duration: Duration = MAX_HOOK_DURATION,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param frontend: whose alias to shift.
        :param endpoint: the endpoint the current version calls (green after a change).
        :param layers: the hooks' layers: Powertools and ``deployment_hooks_common``.
        :param autoscaling: the endpoint's autoscaling, if any: the pre-traffic hook raises
            green's floor to blue's size within it, the post-traffic hook restores it, and the
            shift waits until green's scalable target exists. Default: none.
        :param application: Default: a new CodeDeploy Lambda application.
        :param deployment_config: how traffic moves. Default: ``CANARY_10_PERCENT_5_MINUTES``.
        :param rollback_alarms: alarms that stop and roll back a shift; they must watch only
            the new version (see ``GreenRollbackAlarms``). Default: none.
        :param sample_requests: the pre-traffic hook's requests, in its ``SAMPLE_REQUESTS``
            form (``contentType``, ``body``, ``expectStatus``...). At least one.
        :param min_invocations: invocations green must have served when the post-traffic hook
            runs. Default: 1.
        :param max_5xx_ratio: share of green's invocations that may have failed. Default: 0.01.
        :param metrics_wait: how long the post-traffic hook waits for the metrics. Default: 5
            minutes.
        :param metrics_poll_interval: Default: 30 seconds.
        :param capacity_poll_interval: how often the pre-traffic hook checks green's size.
            Default: 20 seconds.
        :param pre_traffic_code: Default: ``lambdas/pre_traffic_hook``.
        :param post_traffic_code: Default: ``lambdas/post_traffic_hook``.
        :param log_level: the hooks' Powertools log level. Default: ``INFO``.
        :param log_retention: Default: one month.
        :param log_encryption_key: Default: CloudWatch Logs' own encryption.
        :param log_removal_policy: Default: ``RETAIN``.
        :param network: the VPC subnets and security groups the hooks run in. Default:
            Lambda's own network, outside any VPC.
        :param max_hook_duration: how long the pre-traffic hook may wait for green's capacity
            in all, over as many 15-minute runs as it takes. At most CodeDeploy's one hour.
            Default: 55 minutes.
        :param alarm_action: where the alarm on a failed capacity-floor restore goes (e.g.
            ``AlertsTopic.alarm_action``). Default: nowhere.
        """
        super().__init__(scope, construct_id)
        if not sample_requests:
            raise ValueError("give at least one sample request for the pre-traffic hook")
        if min_invocations < 1:
            raise ValueError("min_invocations must be at least 1")
        if not 0 <= max_5xx_ratio <= 1:
            raise ValueError("max_5xx_ratio must be between 0 and 1")
        if to_seconds(metrics_wait) >= HOOK_TIMEOUT_SECONDS:
            raise ValueError("metrics_wait must be shorter than the hook's 15-minute timeout")
        if not 60 <= to_seconds(max_hook_duration) < 3600:
            raise ValueError(
                "max_hook_duration must be at least a minute and under CodeDeploy's one hour"
            )
        model = frontend.model_name
        common: dict[str, Any] = {
            "layers": layers,
            "timeout": HOOK_TIMEOUT,
            "log_retention": log_retention,
            "log_encryption_key": log_encryption_key,
            "log_removal_policy": log_removal_policy,
            "network": network,
        }
        shared_env = {"VARIANT_NAME": endpoint.variant_name, "POWERTOOLS_LOG_LEVEL": log_level}
        capacity_env: dict[str, str] = {}
        if autoscaling is not None:
            capacity_env = {
                "AUTOSCALING_MIN_CAPACITY": str(autoscaling.min_capacity),
                "AUTOSCALING_MAX_CAPACITY": str(autoscaling.max_capacity),
            }
        self.rollback_alarms = list(rollback_alarms)
        # CodeDeploy's role: instead of AWSCodeDeployRoleForLambdaLimited (UpdateAlias on every
        # function of the account, DescribeAlarms and SNS on '*'), exactly what a Lambda
        # deployment of this alias does: read and move the alias, read its provisioned
        # concurrency, read the rollback alarms, invoke the hooks (granted below).
        self.deployment_role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=account_service_principal(self, "codedeploy.amazonaws.com"),
            description=f"CodeDeploy shifts the live alias of model {model}",
        )
        # Read once: each read of a CDK attribute is a jsii round trip.
        facts = stack_facts(self)
        function_arn = frontend.function.function_arn
        # Built from the function, not the alias: the alias depends on this role's policy.
        alias_arn = f"{function_arn}:{frontend.alias.alias_name}"
        add_statement(
            self.deployment_role,
            iam.PolicyStatement(
                actions=[
                    "lambda:GetAlias",
                    "lambda:UpdateAlias",
                    "lambda:GetProvisionedConcurrencyConfig",
                ],
                # Lambda authorizes alias calls on the function's ARN, qualified or not.
                resources=[function_arn, alias_arn],
            ),
        )
        if self.rollback_alarms:
            # By name prefix, not the alarms' ARNs: each version has alarms of its own, and a
            # policy that changed with every version could lag the shift (IAM propagation).
            version_alarms = facts.arn(
                "cloudwatch", "alarm", f"{rollback_alarm_name_prefix(self, model)}-*", colon=True
            )
            add_statement(
                self.deployment_role,
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"], resources=[version_alarms]
                ),
            )
            acknowledge(
                self.deployment_role,
                "AwsSolutions-IAM5",
                "CodeDeploy reads the rollback alarms of this model's versions, one set per "
                "version, named <stack>-<model>-rollback-<check>-v<version>: the prefix covers "
                "the next version's before they exist, and nothing else",
                findings=wildcard_resources(self, [version_alarms]),
            )
        # Created before the hooks, whose policies name it; they are attached below.
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "DeploymentGroup",
            alias=frontend.alias,
            # Immutable to the group: it would attach AWSCodeDeployRoleForLambdaLimited.
            role=self.deployment_role.without_policy_updates(),
            application=application,
            deployment_config=deployment_config,
            alarms=self.rollback_alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True,
                stopped_deployment=True,
                deployment_in_alarm=bool(self.rollback_alarms),
            ),
        )
        pre_policy, post_policy, wildcards = self._hook_policies(
            facts=facts,
            function_arn=function_arn,
            frontend=frontend,
            endpoint=endpoint,
            autoscaling=autoscaling,
        )
        pre = PythonFunction(
            self,
            "PreTrafficHook",
            code=pre_traffic_code or code_from_folder(PRE_TRAFFIC_CODE),
            description=f"CodeDeploy BeforeAllowTraffic hook of model {model}",
            environment={
                **shared_env,
                **capacity_env,
                "POWERTOOLS_SERVICE_NAME": f"{model}-pre-traffic-hook",
                "SAMPLE_REQUESTS": json.dumps(list(sample_requests), separators=(",", ":")),
                "CAPACITY_POLL_SECONDS": str(int(to_seconds(capacity_poll_interval))),
                "MAX_HOOK_SECONDS": str(int(to_seconds(max_hook_duration))),
            },
            inline_policy=pre_policy,
            **common,
        )
        post = PythonFunction(
            self,
            "PostTrafficHook",
            code=post_traffic_code or code_from_folder(POST_TRAFFIC_CODE),
            description=f"CodeDeploy AfterAllowTraffic hook of model {model}",
            environment={
                **shared_env,
                "POWERTOOLS_SERVICE_NAME": f"{model}-post-traffic-hook",
                "MODEL_NAME": model,
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                "MIN_INVOCATIONS": str(min_invocations),
                "MAX_5XX_RATIO": str(max_5xx_ratio),
                "METRICS_WAIT_SECONDS": str(int(to_seconds(metrics_wait))),
                "METRICS_POLL_SECONDS": str(int(to_seconds(metrics_poll_interval))),
                **(
                    {"AUTOSCALING_MIN_CAPACITY": capacity_env["AUTOSCALING_MIN_CAPACITY"]}
                    if capacity_env
                    else {}
                ),
            },
            inline_policy=post_policy,
            **common,
        )
        self.pre_traffic_hook = pre.function
        self.post_traffic_hook = post.function
        pre_arn = self.pre_traffic_hook.function_arn
        for hook in (self.pre_traffic_hook, self.post_traffic_hook):
            acknowledge_all(
                hook,
                Ack(
                    LAMBDA_DLQ,
                    "a hook event that failed every attempt cannot be redriven usefully: "
                    "CodeDeploy fails a lifecycle hook that reported no status within an hour "
                    "and rolls the alias back, and the hooks report a status even when they crash",
                ),
                Ack(
                    "NIST.800.53.R5-LambdaConcurrency",
                    "a hook runs a few times per deployment of this model, which CloudFormation "
                    "serializes; reserved concurrency would only take capacity from the "
                    "account's shared pool, and a throttled hook would fail the deployment",
                ),
            )
        # Also grants each hook PutLifecycleEventHookExecutionStatus on this group alone.
        self.deployment_group.add_pre_hook(self.pre_traffic_hook)
        self.deployment_group.add_post_hook(self.post_traffic_hook)
        # CodeDeploy invokes each hook by its unqualified name.
        add_statement(
            self.deployment_role,
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[pre_arn, self.post_traffic_hook.function_arn],
            ),
        )
        findings = wildcard_resources(self, wildcards)
        # Post reads metrics (GetMetricData), with autoscaling both list scalable targets
        # (DescribeScalableTargets): actions without resource-level permissions.
        for hook_function, star in ((pre, autoscaling is not None), (post, True)):
            acks = [
                Ack(
                    "AwsSolutions-IAM5",
                    "'*' only for actions without resource-level permissions (X-Ray, "
                    "DescribeScalableTargets, CloudWatch GetMetricData); the rest is this front "
                    "end's versions, the target-tracking alarms of this model's endpoints, and "
                    "the endpoint configs and scalable targets (generated names) that carry this "
                    "model's safe-sagemaker:endpoints tag, by condition.",
                    findings=(*(["Resource::*"] if star else []), *findings),
                )
            ]
            if star:
                acks.append(
                    Ack(
                        "Serverless-LambdaStarPermissions",
                        "the role's '*' resources are only for actions that have no "
                        "resource-level permissions (CloudWatch GetMetricData, Application "
                        "Auto Scaling's DescribeScalableTargets); every other statement names "
                        "this model's ARNs",
                    )
                )
            acknowledge_all(hook_function.role, *acks)
        # A scale-out longer than one run continues in a new invocation of the pre-traffic
        # hook. A policy of its own: in the role's default policy the function's ARN would
        # make the function depend on itself.
        self.pre_traffic_continuation_policy = iam.Policy(
            self,
            "PreTrafficHookContinuation",
            roles=[pre.role],
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[pre_arn],
                )
            ],
        )
        # The alias update is what starts a deployment: everything that deployment relies on
        # is updated first, explicitly rather than through whatever references happen to
        # exist. The rollback alarms must already watch green (they are new per version), the
        # group must already list them, the hooks must already be allowed their calls, and
        # green's scalable target must exist (the pre-traffic hook resizes it; registering it
        # first would race CloudFormation creating it). One call for all of them.
        frontend.alias.node.add_dependency(
            self.deployment_group,
            self.deployment_role,
            *self.rollback_alarms,
            self.pre_traffic_continuation_policy,
            *([autoscaling] if autoscaling is not None else []),
        )
        self.floor_restore_alarm: cloudwatch.Alarm | None = None
        if autoscaling is not None:
            self.floor_restore_alarm = threshold_alarm(
                self,
                "CapacityFloorRestoreFailed",
                metric=cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name="CapacityFloorRestoreFailures",
                    dimensions_map={"ModelName": model},
                    statistic="Sum",
                    period=Duration.minutes(5),
                ),
                threshold=0,
                description=f"The post-traffic hook of model {model} could not lower the new "
                "endpoint's capacity floor back to the configured minimum: it stays at blue's "
                "size (costs money) until set by hand; the hook's log names the endpoint and "
                "the value",
                alarm_action=alarm_action,
            )

    def _hook_policies(
        self,
        *,
        facts: StackFacts,
        function_arn: str,
        frontend: ModelFrontend,
        endpoint: ModelEndpoint,
        autoscaling: EndpointAutoscaling | None,
    ) -> tuple[iam.PolicyDocument, iam.PolicyDocument, list[str]]:
        """Exactly what each hook calls, each scoped as narrowly as IAM allows: (pre, post,
        the granted resources that hold wildcards). One JSON document per hook, statements
        with the same resources merged, built in a single jsii call each. ``facts`` and
        ``function_arn``: this construct's stack and the front end's function ARN, as read
        once by the constructor."""
        versions = f"{function_arn}:*"
        endpoints = frontend.endpoint_arn_pattern
        # Both read the deployment (its AppSpec names the versions) and each version's
        # ENDPOINT_NAME.
        common = [
            _allow(["codedeploy:GetDeployment"], self.deployment_group.deployment_group_arn),
            _allow(["lambda:GetFunctionConfiguration"], versions),
        ]
        # Pre checks that green (and blue) are InService and sends the samples through the new
        # version; post reads green's Invocations and Invocation5XXErrors.
        pre = [
            *common,
            _allow(["lambda:InvokeFunction"], versions),
            _allow(["sagemaker:DescribeEndpoint"], endpoints),
        ]
        post = [*common, _allow(["cloudwatch:GetMetricData"], "*")]
        wildcards = [versions]
        if autoscaling is not None:
            # Pre raises green's capacity floor to blue's size, post restores it: both
            # register green's scalable target, which Application Auto Scaling allows only to a
            # caller that may manage the endpoint and its target-tracking alarms itself.
            # Scalable target ids are random and endpoint config names generated: both are
            # held to this model's by the tag put on them here (updatable in place on both).
            tag_value = frontend.endpoint_name_pattern.split("?")[0].split("*")[0]
            Tags.of(endpoint.endpoint_config).add(SCOPE_TAG, tag_value)
            Tags.of(autoscaling.scalable_target).add(SCOPE_TAG, tag_value)
            this_model = {"StringEquals": {f"aws:ResourceTag/{SCOPE_TAG}": tag_value}}
            configs = facts.arn("sagemaker", "endpoint-config", "*")
            targets = facts.arn("application-autoscaling", "scalable-target", "*")
            alarms = facts.arn(
                "cloudwatch",
                "alarm",
                f"TargetTracking-endpoint/{frontend.endpoint_name_pattern}/variant/"
                f"{endpoint.variant_name}-*",
                colon=True,
            )
            service_linked_role = facts.arn("iam", "role", SERVICE_LINKED_ROLE, region="")
            capacity = [
                # A List action: no resource-level permissions.
                _allow(["application-autoscaling:DescribeScalableTargets"], "*"),
                {
                    **_allow(["application-autoscaling:RegisterScalableTarget"], targets),
                    "Condition": this_model,
                },
                _allow(
                    [
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:UpdateEndpointWeightsAndCapacities",
                    ],
                    endpoints,
                ),
                {**_allow(["sagemaker:DescribeEndpointConfig"], configs), "Condition": this_model},
                _allow(
                    [
                        "cloudwatch:DescribeAlarms",
                        "cloudwatch:PutMetricAlarm",
                        "cloudwatch:DeleteAlarms",
                    ],
                    alarms,
                ),
                {
                    **_allow(["iam:CreateServiceLinkedRole"], service_linked_role),
                    "Condition": {"StringEquals": {"iam:AWSServiceName": _AUTOSCALING_SERVICE}},
                },
            ]
            pre += capacity
            post += capacity
            wildcards += [configs, targets, alarms]
        return _document(pre), _document(post), wildcards


def _allow(actions: list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _document(statements: list[dict[str, Any]]) -> iam.PolicyDocument:
    """Statements on the same resource (and condition) merged into one."""
    merged: dict[str, dict[str, Any]] = {}
    for statement in statements:
        key = json.dumps(
            {"Resource": statement["Resource"], "Condition": statement.get("Condition")}
        )
        if key in merged:
            actions = set(merged[key]["Action"]) | set(statement["Action"])
            merged[key] = {**merged[key], "Action": sorted(actions)}
        else:
            merged[key] = statement
    return iam.PolicyDocument.from_json(
        {"Version": "2012-10-17", "Statement": list(merged.values())}
    )
