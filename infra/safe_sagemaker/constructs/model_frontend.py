"""The blue/green front end of one model: a Lambda function whose configuration names exactly one
SageMaker endpoint, the version published from it, and the alias that callers invoke."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from safe_sagemaker.api_rules import DEFAULT_CONTENT_TYPES
from safe_sagemaker.constructs.grants import add_statement
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.private_network import NetworkPlacement
from safe_sagemaker.constructs.python_function import (
    PythonFunction,
    code_from_folder,
    lambda_folder,
)
from safe_sagemaker.constructs.stack_facts import stack_facts
from safe_sagemaker.iam_patterns import iam_pattern_matches
from safe_sagemaker.nag import LAMBDA_DLQ, Ack, acknowledge_all

CODE_FOLDER = lambda_folder("frontend")
METRICS_NAMESPACE = "SafeSageMakerEndpoints"
# API Gateway gives up on an integration after 29 s; the function must not outlive the request.
TIMEOUT = Duration.seconds(29)


class ModelFrontend(Construct):
    """A Lambda function in front of one model's endpoint, published as a version and called
    through an alias (``live``).

    The endpoint's name reaches the function as a literal environment variable, so a new
    endpoint (a new model version) changes the function's configuration and ``current_version``
    publishes a new version; shifting the alias from the old version to the new one (see
    ``BlueGreenDeployment``) moves traffic from the old endpoint (blue) to the new (green).
    During that shift both versions run with the same role: it may invoke every endpoint whose
    name matches ``endpoint_name_pattern`` and nothing else.

    Created resources: ``function`` (with ``role`` and ``log_group``), ``version``, ``alias``.
    The function is created or updated only after the endpoint, so CloudFormation never
    publishes a version that names an endpoint that does not exist yet.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
        model_name: str,
        model_version: str,
        endpoint_name_pattern: str | None = None,
        allowed_content_types: Sequence[str] = DEFAULT_CONTENT_TYPES,
        code: lambda_.Code | None = None,
        layers: Sequence[lambda_.ILayerVersion] = (),
        alias_name: str = "live",
        log_level: str = "INFO",
        memory_size: int = 512,
        reserved_concurrency: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        network: NetworkPlacement | None = None,
    ) -> None:
        """
        :param endpoint: the endpoint this version of the function calls.
        :param model_name: the model's name; the ``ModelName`` dimension of the front end's
            metrics.
        :param model_version: the model's version (its fingerprint); the ``ModelVersion``
            dimension of the front end's metrics.
        :param endpoint_name_pattern: IAM pattern (``*``, ``?``) of every endpoint name this
            model has (blue and green), e.g. ``prod-fraud-detector-????????``. Must match the
            endpoint's name. Default: the endpoint's exact name (no blue/green shift).
        :param allowed_content_types: request media types the function accepts; it answers 415
            to others. Default: ``application/json`` and ``text/csv``.
        :param code: the function's code. Default: ``lambdas/frontend``.
        :param layers: layers the code needs (Powertools). Default: none.
        :param alias_name: Default: ``live``.
        :param log_level: Powertools log level. Default: ``INFO``.
        :param memory_size: MB; also buys CPU for decoding payloads up to 6 MB. Default: 512.
        :param reserved_concurrency: concurrent executions reserved for this model's front end
            and its cap: other functions of the account cannot starve it, and it cannot starve
            them. At least 1. Default: none (the account's unreserved pool, bounded by the
            API's throttling).
        :param log_retention: Default: one month.
        :param log_encryption_key: Default: CloudWatch Logs' own encryption.
        :param log_removal_policy: Default: ``RETAIN``.
        :param network: the VPC subnets and security groups the function runs in. Default:
            Lambda's own network, outside any VPC.
        """
        super().__init__(scope, construct_id)
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError(
                f"reserved_concurrency must be at least 1 (0 would throttle every request), "
                f"got {reserved_concurrency}"
            )
        endpoint_name = endpoint.endpoint_name
        if Token.is_unresolved(endpoint_name):
            raise ValueError(
                "the endpoint name must be a literal: as a token it would not change the "
                "function's configuration, so a new model would publish no new version"
            )
        pattern = endpoint_name_pattern or endpoint_name
        if pattern != pattern.lower():
            raise ValueError(
                f"endpoint_name_pattern {pattern!r} must be lowercase: SageMaker lowercases "
                "endpoint names in ARNs and IAM compares them case-sensitively"
            )
        if not iam_pattern_matches(pattern, endpoint_name):
            raise ValueError(
                f"endpoint_name_pattern {pattern!r} does not match the endpoint {endpoint_name!r}"
            )
        if not allowed_content_types:
            raise ValueError("allowed_content_types must list at least one media type")
        self.model_name = model_name
        self.model_version = model_version
        self.endpoint_name_pattern = pattern

        lambda_function = PythonFunction(
            self,
            "Function",
            code=code or code_from_folder(CODE_FOLDER),
            description=f"Front end of model {model_name}: calls endpoint {endpoint_name}",
            # Shared by blue's and green's versions: it names the pattern, not one endpoint.
            role_description=f"Front end of model {model_name}: invokes endpoints {pattern}",
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MODEL_NAME": model_name,
                "MODEL_VERSION": model_version,
                "ALLOWED_CONTENT_TYPES": ",".join(allowed_content_types),
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_SERVICE_NAME": f"{model_name}-frontend",
                "POWERTOOLS_LOG_LEVEL": log_level,
                "LOG_REQUEST_BODY": "false",
            },
            timeout=TIMEOUT,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            layers=layers,
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
            log_removal_policy=log_removal_policy,
            network=network,
        )
        self.function = lambda_function.function
        acks = [
            Ack(
                LAMBDA_DLQ,
                "API Gateway invokes the front end synchronously: a failed request is answered "
                "to its caller (and counted by the 5xx alarms); there is no event left to redrive",
            )
        ]
        if reserved_concurrency is None:
            acks.append(
                Ack(
                    "NIST.800.53.R5-LambdaConcurrency",
                    "no reserved concurrency is configured for this model (reserved_concurrency): "
                    "the API stage's rate and burst throttling bound how many requests reach the "
                    "front end at once",
                )
            )
        acknowledge_all(self.function, *acks)
        self.role = lambda_function.role
        self.log_group = lambda_function.log_group
        self.endpoint_arn_pattern = stack_facts(self).arn("sagemaker", "endpoint", pattern)
        add_statement(
            self.role,
            iam.PolicyStatement(
                actions=["sagemaker:InvokeEndpoint"], resources=[self.endpoint_arn_pattern]
            ),
        )
        # Green must be InService before a version naming it is published.
        self.function.node.add_dependency(endpoint.endpoint)
        self.version = self.function.current_version
        self.alias = lambda_.Alias(self, "Alias", alias_name=alias_name, version=self.version)
        self._version_dimensions: dict[str, str] | None = None

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke the alias (whichever version it points at)."""
        return self.alias.grant_invoke(grantee)

    def metric_version_errors(self, **props: Any) -> cloudwatch.Metric:
        """``Errors`` of the current version only, invoked through the alias: during a shift it
        counts the new version's errors, never the old one's. Default: Sum over 1 minute."""
        return self._version_metric("Errors", **props)

    def _version_metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        if self._version_dimensions is None:
            # Read once (three jsii round trips): the version's metrics all share them.
            function_name = self.function.function_name
            self._version_dimensions = {
                "FunctionName": function_name,
                # Built from the names, not the alias ARN, so that alarms on it (which the
                # deployment group references) do not depend on the alias it updates.
                "Resource": f"{function_name}:{self.alias.alias_name}",
                "ExecutedVersion": self.version.version,
            }
        return self._metric(
            metric_name,
            namespace="AWS/Lambda",
            dimensions=dict(self._version_dimensions),
            **props,
        )

    def metric_version_invocations(self, **props: Any) -> cloudwatch.Metric:
        """``Invocations`` of the current version through the alias: during a shift, the
        requests the new version served (the denominator of its error ratio). Default: Sum
        over 1 minute."""
        return self._version_metric("Invocations", **props)

    def metric_model_errors(self, **props: Any) -> cloudwatch.Metric:
        """The front end's ``ModelErrors`` of this model version: the container answered 5xx
        (or no status). Default: Sum over 1 minute."""
        return self._model_metric("ModelErrors", **props)

    def metric_model_client_errors(self, **props: Any) -> cloudwatch.Metric:
        """The front end's ``ModelClientErrors`` of this model version: the container answered
        4xx, i.e. the caller's input was bad. Default: Sum over 1 minute."""
        return self._model_metric("ModelClientErrors", **props)

    def metric_model_timeouts(self, **props: Any) -> cloudwatch.Metric:
        """The front end's ``ModelTimeouts`` of this model version. Default: Sum over 1 minute."""
        return self._model_metric("ModelTimeouts", **props)

    def metric_frontend_failures(self, **props: Any) -> cloudwatch.Metric:
        """The front end's ``FrontendFailures`` of this model version: every 500 it answered
        (access denied, a bug, ...), which its Lambda ``Errors`` never count because the
        handler lets no exception escape. Default: Sum over 1 minute."""
        return self._model_metric("FrontendFailures", **props)

    def _model_metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        # Exactly the dimensions the function emits: CloudWatch matches dimension sets exactly.
        dimensions = {"ModelName": self.model_name, "ModelVersion": self.model_version}
        return self._metric(
            metric_name, namespace=METRICS_NAMESPACE, dimensions=dimensions, **props
        )

    @staticmethod
    def _metric(
        metric_name: str,
        *,
        namespace: str,
        dimensions: dict[str, str],
        statistic: str = "Sum",
        period: Duration = Duration.minutes(1),
        **props: Any,
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=period,
            **props,
        )
