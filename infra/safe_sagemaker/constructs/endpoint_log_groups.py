"""Endpoint log groups that survive a retry: an "adopt or create" custom resource and its
provider, one per stack.

SageMaker writes an endpoint's logs to ``/aws/sagemaker/Endpoints/<endpoint-name>``, and names
repeat (a rolled-back version deployed again, a revert to an earlier model). The group of the
earlier attempt is kept so its logs stay readable, so a plain ``AWS::Logs::LogGroup`` would fail
with "already exists". ``Custom::EndpointLogGroup`` creates the group when it is missing and
otherwise adopts it (KMS key, retention, tags); on Delete it keeps the group, whose events then
expire with the retention (see ``lambdas/endpoint_log_group``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from safe_sagemaker.checkov import skip_checks
from safe_sagemaker.constructs.private_network import (
    LAMBDA_NETWORK_INTERFACE_ACTIONS,
    NetworkPlacement,
    allow_network_interfaces,
)
from safe_sagemaker.constructs.python_function import (
    PythonFunction,
    code_from_folder,
    lambda_folder,
    role_with_log_group,
)
from safe_sagemaker.constructs.stack_facts import stack_facts
from safe_sagemaker.log_retention import days_of
from safe_sagemaker.nag import LAMBDA_DLQ, acknowledge, wildcard_resources

CODE_FOLDER = lambda_folder("endpoint_log_group")
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
RESOURCE_TYPE = "Custom::EndpointLogGroup"
# The adopt or create calls; nothing that deletes or reads log data.
ACTIONS = (
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:AssociateKmsKey",
    "logs:TagResource",
)


class EndpointLogGroupProvider(Construct):
    """The provider of ``Custom::EndpointLogGroup``: a Python function that adopts or creates
    endpoint log groups, under the CDK Provider framework, which reports to CloudFormation.

    One per stack, shared by every endpoint: create it at the stack's top level with the id
    ``CONSTRUCT_ID`` to choose its settings, or let ``of`` create it with the defaults.

    Created resources: ``handler`` (a ``PythonFunction``), ``framework_role``,
    ``framework_log_group``, ``provider``. Attributes: ``service_token``,
    ``endpoint_name_prefix``.
    """

    CONSTRUCT_ID = "EndpointLogGroupProvider"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name_prefixes: Sequence[str] = ("",),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        network: NetworkPlacement | None = None,
    ) -> None:
        """
        :param endpoint_name_prefixes: the provider may create and adopt only the log groups
            of endpoints whose names start with one of these (``prod-fraud-detector-`` for
            ``prod-fraud-detector-<fingerprint>``). Default: every endpoint of the stack's
            account and region.
        :param log_retention: retention of the provider's own two log groups. Default: one
            month.
        :param log_encryption_key: KMS key of the provider's own log groups; its key policy must
            let CloudWatch Logs use it for them. Default: CloudWatch Logs' own encryption.
        :param log_removal_policy: of the provider's own log groups. Default: ``RETAIN``.
        :param network: the VPC subnets and security groups the handler and the framework's
            function run in. Default: Lambda's own network, outside any VPC.
        """
        super().__init__(scope, construct_id)
        prefixes = tuple(dict.fromkeys(endpoint_name_prefixes))
        if not prefixes or any("*" in p or "?" in p for p in prefixes):
            raise ValueError(
                f"endpoint_name_prefixes {endpoint_name_prefixes!r} must be one or more "
                "literal prefixes"
            )
        self.endpoint_name_prefixes = prefixes
        facts = stack_facts(self)
        groups_arns = [
            facts.arn("logs", "log-group", f"{ENDPOINT_LOG_GROUP_PREFIX}{prefix}*", colon=True)
            for prefix in prefixes
        ]
        self.handler = PythonFunction(
            self,
            "Handler",
            code=code_from_folder(CODE_FOLDER),
            description="Adopts or creates /aws/sagemaker/Endpoints/ log groups",
            timeout=Duration.minutes(1),
            memory_size=128,
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
            log_removal_policy=log_removal_policy,
            network=network,
            inline_policy=iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=list(ACTIONS), resources=groups_arns)]
            ),
        )
        acknowledge(
            self.handler.role,
            "AwsSolutions-IAM5",
            "Endpoint names carry a fingerprint of the model, so the groups this provider "
            "creates are known only by their prefix: the statement is held to the endpoint "
            "log groups of the given name prefixes (in the stacks here, one per model of the "
            "environment) in this account and region, and cannot delete or read any group.",
            findings=wildcard_resources(self, groups_arns),
        )
        # The framework's own function: its role writes only to its own encrypted group (no
        # AWSLambdaBasicExecutionRole) and may invoke only the handler above.
        framework = Construct(self, "Framework")
        self.framework_role, self.framework_log_group = role_with_log_group(
            framework,
            description="CDK Provider framework of Custom::EndpointLogGroup",
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
            log_removal_policy=log_removal_policy,
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.handler.function,
            framework_on_event_role=self.framework_role,
            log_group=self.framework_log_group,
            **(network.function_props() if network else {}),
        )
        if network is not None:
            # The framework's function is created in the VPC by Provider: its role needs what
            # PythonFunction gives a function of ours there.
            self.provider.node.add_dependency(
                allow_network_interfaces(
                    framework,
                    self.framework_role,
                    LAMBDA_NETWORK_INTERFACE_ACTIONS,
                    service="Lambda",
                )
            )
        self.service_token = self.provider.service_token
        once_per_operation = (
            "CloudFormation calls it (through the framework) once per stack operation that "
            "touches an endpoint log group; "
        )
        for function in (self.handler.function, self.provider):
            acknowledge(
                function,
                LAMBDA_DLQ,
                once_per_operation + "an event that fails every attempt fails or times out "
                "that operation, which is repeated by redeploying, not by redriving an event",
            )
            acknowledge(
                function,
                "NIST.800.53.R5-LambdaConcurrency",
                once_per_operation + "reserving concurrency would only take capacity from "
                "the account's shared pool",
            )
        generated = (
            "the Provider framework's function is generated by aws-cdk-lib, which offers no "
            "setting for it; it only relays CloudFormation's events to the handler, "
        )
        acknowledge(
            self.provider,
            "Serverless-LambdaDefaultMemorySize",
            generated + "for which its default 128 MB is ample",
        )
        acknowledge(
            self.provider,
            "Serverless-LambdaTracing",
            generated + "which is traced with X-Ray itself",
        )
        if network is None:
            outside = (
                generated
                + "calling only the Lambda and CloudFormation APIs, and no private resource"
            )
            acknowledge(self.provider, "NIST.800.53.R5-LambdaInsideVPC", outside)
            # aws-cdk-lib's id of the framework's function (a test holds every function's skip).
            framework_function = self.provider.node.find_child("framework-onEvent")
            skip_checks(framework_function, outside, "CKV_AWS_117")
        acknowledge(
            self.framework_role,
            "AwsSolutions-IAM5",
            "The Provider framework invokes the handler by name and version (Grant.invoke "
            "adds '<function arn>:*'); nothing else.",
            findings=wildcard_resources(self, [f"{self.handler.function.function_arn}:*"]),
        )

    @classmethod
    def of(cls, scope: Construct) -> EndpointLogGroupProvider:
        """The provider of ``scope``'s stack: the one at ``CONSTRUCT_ID``, or a new one with
        the defaults."""
        stack = Stack.of(scope)
        found = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if found is None:
            return cls(stack, cls.CONSTRUCT_ID)
        if not isinstance(found, cls):
            raise TypeError(
                f"{stack.node.path}/{cls.CONSTRUCT_ID} is a {type(found).__name__}, not an "
                f"{cls.__name__}"
            )
        return found

    def covers(self, endpoint_name: str) -> bool:
        """Whether this provider may create or adopt ``endpoint_name``'s log group."""
        return endpoint_name.startswith(self.endpoint_name_prefixes)


class EndpointLogGroup(Construct):
    """``/aws/sagemaker/Endpoints/<endpoint_name>``, adopted if it exists, else created; kept
    when the resource is deleted.

    Created resources: ``resource`` (``Custom::EndpointLogGroup``, physical id = the group's
    name). Attributes: ``log_group`` (an ``ILogGroup`` for grants), ``log_group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        encryption_key: kms.IKey | None = None,
        tags: Mapping[str, str] | None = None,
        provider: EndpointLogGroupProvider | None = None,
    ) -> None:
        """
        :param endpoint_name: the endpoint whose group this is.
        :param retention: finite retention; it also bounds how long a kept group's events
            stay. Default: one month.
        :param encryption_key: KMS key; its key policy must let CloudWatch Logs use it for this
            group. Default: CloudWatch Logs' own encryption.
        :param tags: tags of the group (stack tags do not reach a custom resource's group).
            Default: none.
        :param provider: Default: the stack's (``EndpointLogGroupProvider.of``).
        """
        super().__init__(scope, construct_id)
        provider = provider or EndpointLogGroupProvider.of(self)
        if not provider.covers(endpoint_name):
            raise ValueError(
                f"endpoint {endpoint_name!r} starts with none of "
                f"{list(provider.endpoint_name_prefixes)}, the prefixes whose log groups the "
                "stack's EndpointLogGroupProvider may create"
            )
        self.log_group_name = f"{ENDPOINT_LOG_GROUP_PREFIX}{endpoint_name}"
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "LogGroupName": self.log_group_name,
                "RetentionInDays": str(days_of(retention)),
                "KmsKeyId": encryption_key.key_arn if encryption_key else "",
                "Tags": dict(tags or {}),
            },
        )
        self.log_group = logs.LogGroup.from_log_group_name(self, "Group", self.log_group_name)
