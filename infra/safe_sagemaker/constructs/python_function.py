"""A Python Lambda function with its own least-privilege role and its own encrypted log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from safe_sagemaker.checkov import skip_checks
from safe_sagemaker.constructs.grants import service_principal
from safe_sagemaker.constructs.private_network import (
    LAMBDA_NETWORK_INTERFACE_ACTIONS,
    NetworkPlacement,
    allow_network_interfaces,
)
from safe_sagemaker.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_14
# Caches that tests and tools leave in the code folders, and documentation. They must never
# reach the asset: a change there would change the asset hash, hence the function, hence publish
# a new version that CodeDeploy then shifts to.
ASSET_EXCLUDES = (
    "*.md",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "tests",
)


def lambda_folder(name: str) -> Path:
    """The folder of one of the library's Lambda functions or layers (``lambdas/<name>`` in the
    repository, ``safe_sagemaker/lambdas/<name>`` in an installed wheel): found beside the
    package's own code, never through the working directory."""
    return Path(str(resources.files("safe_sagemaker.lambdas").joinpath(name)))


def code_from_folder(folder: Path | str) -> lambda_.Code:
    """A function's or layer's code folder as an asset, without caches."""
    return lambda_.Code.from_asset(str(folder), exclude=list(ASSET_EXCLUDES))


def role_with_log_group(
    scope: Construct,
    *,
    description: str,
    log_retention: logs.RetentionDays,
    log_encryption_key: kms.IKey | None,
    log_removal_policy: RemovalPolicy,
    inline_policy: iam.PolicyDocument | None = None,
) -> tuple[iam.Role, logs.LogGroup]:
    """A Lambda execution role (``scope/Role``) and the log group it alone may write to
    (``scope/LogGroup``), for a function of ours or one a CDK construct builds."""
    role = iam.Role(
        scope,
        "Role",
        assumed_by=service_principal("lambda.amazonaws.com"),
        description=description,
        inline_policies={"Permissions": inline_policy} if inline_policy else None,
    )
    log_group = logs.LogGroup(
        scope,
        "LogGroup",
        retention=log_retention,
        encryption_key=log_encryption_key,
        removal_policy=log_removal_policy,
    )
    log_group.grant_write(role)
    return role, log_group


class PythonFunction(Construct):
    """A Lambda function on the latest Python runtime with active X-Ray tracing.

    Unlike a bare ``lambda.Function`` it gets a role of its own that may write only to its own
    log group (no ``AWSLambdaBasicExecutionRole`` with its account-wide log rights) and a log
    group with finite retention, optionally KMS-encrypted.

    Created resources: ``role``, ``log_group``, ``function``, and in a VPC
    ``network_interfaces_policy``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        description: str,
        role_description: str | None = None,
        handler: str = "handler.handler",
        environment: Mapping[str, str] | None = None,
        timeout: Duration = Duration.seconds(30),
        memory_size: int = 256,
        layers: Sequence[lambda_.ILayerVersion] = (),
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        inline_policy: iam.PolicyDocument | None = None,
        reserved_concurrent_executions: int | None = None,
        network: NetworkPlacement | None = None,
    ) -> None:
        """
        :param code: the function's code, e.g. ``code_from_folder("lambdas/frontend")``.
        :param description: what the function does.
        :param role_description: Default: ``description``. Give a stable one when the
            description names something that changes, so the role is not updated with it.
        :param handler: module.function of the entry point. Default: ``handler.handler``.
        :param environment: environment variables. Default: none.
        :param timeout: Default: 30 seconds.
        :param memory_size: in MB. Default: 256.
        :param layers: Default: none.
        :param log_retention: Default: one month.
        :param log_encryption_key: Default: CloudWatch Logs' own encryption.
        :param log_removal_policy: Default: ``RETAIN``.
        :param inline_policy: the role's own permissions, inline in the role (no extra
            resource). Default: none; ``grant_*`` calls still add to the role's DefaultPolicy.
        :param reserved_concurrent_executions: concurrency reserved for (and capped at) this
            function. Default: none (the account's unreserved pool).
        :param network: the VPC subnets and security groups the function runs in; its role
            then gets the network-interface permissions Lambda needs (``NetworkInterfaces``
            policy). Default: Lambda's own network, outside any VPC.
        """
        super().__init__(scope, construct_id)
        self.role, self.log_group = role_with_log_group(
            self,
            description=role_description or description,
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
            log_removal_policy=log_removal_policy,
            inline_policy=inline_policy,
        )
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=RUNTIME,
            handler=handler,
            code=code,
            description=description,
            environment=dict(environment or {}),
            timeout=timeout,
            memory_size=memory_size,
            layers=list(layers),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrent_executions,
            **(network.function_props() if network else {}),
        )
        self.network_interfaces_policy: iam.Policy | None = None
        if network is not None:
            self.network_interfaces_policy = allow_network_interfaces(
                self, self.role, LAMBDA_NETWORK_INTERFACE_ACTIONS, service="Lambda"
            )
            self.function.node.add_dependency(self.network_interfaces_policy)
        else:
            reason = (
                "the function reaches only AWS service APIs (TLS, SigV4-signed, authorized by "
                "its role) and no private resource; outside a VPC it needs no NAT or interface "
                "endpoints to do so"
            )
            acknowledge(self.function, "NIST.800.53.R5-LambdaInsideVPC", reason)
            skip_checks(self.function, reason, "CKV_AWS_117")
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy,
                "AwsSolutions-IAM5",
                "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level "
                "permissions; active tracing needs them on '*'.",
                findings=("Resource::*",),
            )
