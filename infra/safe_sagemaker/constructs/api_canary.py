"""A CloudWatch Synthetics canary that calls every model's API route on a schedule."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from aws_cdk import Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from safe_sagemaker.archives import cached_archive
from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.python_function import ASSET_EXCLUDES, lambda_folder
from safe_sagemaker.constructs.secure_bucket import AccessLogsBucket, SecureBucket
from safe_sagemaker.nag import acknowledge

CODE = lambda_folder("api_canary")
HANDLER = "api_canary.handler"
# Beside the script in the archive (the script's ROUTES_FILE).
ROUTES_FILE = "python/routes.json"
# The newest Python runtime this aws-cdk-lib knows; the script needs no browser.
RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0
ARTIFACTS_PREFIX = "runs"
# One route may take API Gateway's 29 s; the run needs a little more for start-up.
_SECONDS_PER_ROUTE = 35
_START_UP_SECONDS = 30


def canary_archive(routes_json: str) -> Path:
    """The canary's code as a zip: the script folder (without what no function's asset
    takes, ``ASSET_EXCLUDES``, or a ``routes.json`` that a local run leaves) and
    ``routes_json`` as ``python/routes.json``, stored uncompressed so that its bytes (and
    asset hash) do not depend on the machine's zlib (see ``safe_sagemaker.archives``)."""
    relatives = (path.relative_to(CODE) for path in CODE.rglob("*") if path.is_file())
    sources = {
        relative.as_posix(): CODE / relative
        for relative in relatives
        if not any(fnmatch(part, p) for part in relative.parts for p in ASSET_EXCLUDES)
    }
    sources.pop(ROUTES_FILE, None)
    entries = [(name, path.read_bytes()) for name, path in sources.items()]
    return cached_archive(
        "api-canary", [*entries, (ROUTES_FILE, routes_json.encode())], zipfile.ZIP_STORED
    )


@dataclass(frozen=True)
class CanaryRoute:
    """One request of every run: POST ``body`` as ``content_type`` to ``path`` (below the
    canary's base URL); any 2xx answer passes. Literal strings, no tokens: the routes are
    written into the canary's code at synth, where nothing resolves them."""

    name: str
    path: str
    content_type: str
    body: str


class ApiCanary(Construct):
    """A Synthetics canary that POSTs a sample request to each route every ``schedule`` and an
    alarm when its ``SuccessPercent`` averages under ``success_threshold_percent`` over
    ``alarm_window``. A canary that stops reporting counts as failing.

    The requests are signed with SigV4 (``sign_requests``, for IAM auth: grant the canary's
    ``role`` ``execute-api:Invoke``, e.g. with ``PredictionApi.grant_invoke``) or carry an API
    key that the canary reads at run time (``api_key``), so the key's value never appears in
    the template or the canary's configuration.

    The run artifacts go to a hardened bucket of their own (see ``SecureBucket``), encrypted by
    its default SSE-KMS (Synthetics' own artifact encryption setting exists for Node.js runtimes
    only). The canary's
    Lambda log group, which Synthetics names ``/aws/lambda/cwsyn-<name>-<canary id>``, is
    created by this construct with retention and KMS encryption; the canary's role may write to
    it but not create log groups, so a first run that beats CloudFormation to it loses its logs
    instead of creating an unencrypted group that never expires.

    Created resources: ``role``, ``artifacts`` (``key``, ``bucket``), ``access_logs`` (unless a
    log bucket is passed), ``canary``, ``log_group``, ``alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        base_url: str,
        routes: Sequence[CanaryRoute],
        artifacts_bucket_name: str,
        sign_requests: bool = False,
        api_key: apigw.IApiKey | None = None,
        schedule: Duration = Duration.minutes(10),
        alarm_window: Duration = Duration.minutes(30),
        success_threshold_percent: float = 90,
        alarm_action: cloudwatch.IAlarmAction | None = None,
        artifacts_retention: Duration = Duration.days(30),
        access_logs_bucket: s3.IBucket | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param base_url: the API stage URL the route paths are relative to.
        :param routes: the requests of every run. At least one.
        :param artifacts_bucket_name: physical name of the artifacts bucket (see
            ``SecureBucket``).
        :param sign_requests: sign every request with SigV4 for ``execute-api``. Default: false.
        :param api_key: API key to send as ``x-api-key``. Default: none.
        :param schedule: time between runs, 1-60 minutes. Default: 10 minutes.
        :param alarm_window: the period over which SuccessPercent is averaged; at least one
            schedule interval. Default: 30 minutes.
        :param success_threshold_percent: alarm below this. Default: 90.
        :param alarm_action: the alarm's action. Default: none.
        :param artifacts_retention: how long run artifacts (and Synthetics' run records) are
            kept. Default: 30 days.
        :param access_logs_bucket: where the artifacts bucket's access logs go. Default: a new
            ``AccessLogsBucket``.
        :param log_retention: retention of the canary's log group. Default: one month.
        :param log_encryption_key: KMS key of the canary's log group. Default: CloudWatch Logs'
            own encryption.
        :param removal_policy: for the artifacts bucket, its key and the log group. Default:
            ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        if not routes:
            raise ValueError("routes must name at least one request")
        if len({route.name for route in routes}) != len(routes):
            raise ValueError("route names must be unique")
        for route in routes:
            fields = (route.name, route.path, route.content_type, route.body)
            if any(Token.is_unresolved(field) for field in fields):
                raise ValueError(
                    f"route {route.name!r} holds a token: its fields must be literal strings, as "
                    "they are written into the canary's code at synth"
                )
        minutes = schedule.to_minutes()
        if not 1 <= minutes <= 60:
            raise ValueError(f"schedule must be 1-60 minutes, not {minutes}")
        if alarm_window.to_seconds() < schedule.to_seconds():
            raise ValueError("alarm_window must be at least one schedule interval")
        if sign_requests and api_key is not None:
            raise ValueError("give sign_requests (IAM auth) or api_key (API key auth), not both")
        stack = Stack.of(self)

        self.access_logs: AccessLogsBucket | None = None
        if access_logs_bucket is None:
            self.access_logs = AccessLogsBucket(self, "AccessLogs", removal_policy=removal_policy)
            access_logs_bucket = self.access_logs.bucket
        self.artifacts = SecureBucket(
            self,
            "Artifacts",
            bucket_name=artifacts_bucket_name,
            description="Synthetics canary run artifacts",
            access_logs_bucket=access_logs_bucket,
            access_logs_prefix="canary-artifacts/",
            expiration=artifacts_retention,
            removal_policy=removal_policy,
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the API canary",
        )
        self.artifacts.grant_put(self.role, ARTIFACTS_PREFIX)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation"],
                resources=[f"arn:{stack.partition}:s3:::{artifacts_bucket_name}"],
            )
        )
        # Synthetics lists buckets at start-up and publishes its metrics itself; neither call
        # has resource-level permissions, PutMetricData is held to Synthetics' namespace.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
            )
        )
        # The routes travel in the script's archive, not in its environment: Synthetics takes
        # 4 KB of environment variables in all, which 20-odd routes already fill.
        routes_json = json.dumps(
            [
                {
                    "name": route.name,
                    "path": route.path,
                    "contentType": route.content_type,
                    "body": route.body,
                }
                for route in routes
            ],
            separators=(",", ":"),
        )
        environment = {
            "BASE_URL": base_url,
            "SIGN_REQUESTS": "true" if sign_requests else "false",
        }
        if api_key is not None:
            environment["API_KEY_ID"] = api_key.key_id
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["apigateway:GET"],
                    resources=[
                        f"arn:{stack.partition}:apigateway:{stack.region}::/apikeys/{api_key.key_id}"
                    ],
                )
            )

        timeout = min(
            schedule.to_seconds(), _START_UP_SECONDS + _SECONDS_PER_ROUTE * len(routes), 840
        )
        self.canary = synthetics.Canary(
            self,
            "Resource",
            runtime=RUNTIME,
            test=synthetics.Test.custom(
                code=synthetics.Code.from_asset(str(canary_archive(routes_json))), handler=HANDLER
            ),
            schedule=synthetics.Schedule.rate(schedule),
            timeout=Duration.seconds(timeout),
            role=self.role,
            environment_variables=environment,
            artifacts_bucket_location=synthetics.ArtifactsBucketLocation(
                bucket=self.artifacts.bucket, prefix=ARTIFACTS_PREFIX
            ),
            success_retention_period=artifacts_retention,
            failure_retention_period=artifacts_retention,
            start_after_creation=True,
            provisioned_resource_cleanup=True,
        )
        # The first run must find its permissions in place.
        policy = self.role.node.find_child("DefaultPolicy")
        self.canary.node.add_dependency(policy)
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "s3:ListAllMyBuckets and cloudwatch:PutMetricData have no resource-level "
            "permissions; Synthetics needs both, and PutMetricData is held to the "
            "CloudWatchSynthetics namespace by condition.",
            findings=("Resource::*",),
        )

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=Fn.join(
                "", ["/aws/lambda/cwsyn-", self.canary.canary_name, "-", self.canary.canary_id]
            ),
            retention=log_retention,
            encryption_key=log_encryption_key,
            removal_policy=removal_policy,
        )
        # A policy of its own: it names the log group, which exists only after the canary.
        logs_policy = iam.Policy(
            self,
            "LogsPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        self.role.attach_inline_policy(logs_policy)

        self.alarm = threshold_alarm(
            self,
            "Alarm",
            description=(
                f"The API canary's success rate averaged under {success_threshold_percent:g}% "
                f"over {alarm_window.to_minutes():g} minutes: routes fail or do not answer. The "
                "canary's run results and logs name the failing routes."
            ),
            metric=self.metric_success_percent(period=alarm_window),
            threshold=success_threshold_percent,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_action=alarm_action,
        )

    def metric_success_percent(self, **props: object) -> cloudwatch.Metric:
        """``SuccessPercent`` of the canary's runs, averaged (default period: 5 minutes)."""
        return self.canary.metric_success_percent(**{"statistic": "Average", **props})  # type: ignore[arg-type]

    def metric_duration(self, **props: object) -> cloudwatch.Metric:
        """``Duration`` of the canary's runs, averaged."""
        return self.canary.metric_duration(**{"statistic": "Average", **props})  # type: ignore[arg-type]
