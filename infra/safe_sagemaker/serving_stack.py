"""The per-environment stack: every configured model, its alarms and the shared alerting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import (
    ArnFormat,
    CfnOutput,
    Duration,
    Environment,
    NestedStack,
    RemovalPolicy,
    Stack,
    Tags,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from safe_sagemaker.config import EnvironmentConfig, ModelConfig
from safe_sagemaker.constructs.alerts_topic import AlertsTopic
from safe_sagemaker.constructs.api_alarms import ApiAlarms
from safe_sagemaker.constructs.api_canary import ApiCanary, CanaryRoute
from safe_sagemaker.constructs.api_web_acl import ApiWebAcl
from safe_sagemaker.constructs.blue_green_deployment import (
    HOOKS_COMMON_CODE,
    POST_TRAFFIC_CODE,
    PRE_TRAFFIC_CODE,
)
from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
from safe_sagemaker.constructs.deployment_notifications import DeploymentNotifications
from safe_sagemaker.constructs.endpoint_deployment_notifications import (
    EndpointDeploymentNotifications,
)
from safe_sagemaker.constructs.endpoint_log_groups import EndpointLogGroupProvider
from safe_sagemaker.constructs.model_frontend import CODE_FOLDER as FRONTEND_CODE
from safe_sagemaker.constructs.operations_dashboard import (
    DashboardModel,
    OperationsDashboard,
    alarms_of,
)
from safe_sagemaker.constructs.powertools_layer import PowertoolsLayer
from safe_sagemaker.constructs.prediction_api import ApiAuth, PredictionApi
from safe_sagemaker.constructs.private_network import PrivateNetwork
from safe_sagemaker.constructs.python_function import RUNTIME, code_from_folder
from safe_sagemaker.constructs.secure_bucket import AccessLogsBucket
from safe_sagemaker.log_retention import retention_days
from safe_sagemaker.nag import acknowledge_inline_policies, add_compliance_checks
from safe_sagemaker.served_model import ServedModel


class ModelServingStack(Stack):
    """Everything one environment serves. ``DevStack`` and ``ProdStack`` are instances."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        api_invoke_accounts: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """``api_invoke_accounts``: other accounts whose principals may call the API as far as
        their own IAM policies allow (the delivery pipeline's account, for its smoke test of a
        stage in another account). Default: none."""
        env = None
        if config.account or config.region:
            env = Environment(account=config.account, region=config.region)
        # CloudFormation's 1 MB counts the template's bytes, indentation included: at 50 models
        # the top-level template is 0.91 MB indented, 0.69 MB not (a model adds its API route,
        # dashboard row and nested-stack wiring here).
        kwargs.setdefault("suppress_template_indentation", config.nested_model_stacks)
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=(
                f"SageMaker real-time endpoints and their safe-deployment front end ({config.name})"
            ),
            **kwargs,
        )
        self.config = config
        self.api_invoke_accounts = tuple(api_invoke_accounts)
        # Serverless and NIST 800-53 R5 on everything this stack serves (AwsSolutions is app-wide).
        add_compliance_checks(self)
        removal = RemovalPolicy.RETAIN if config.production else RemovalPolicy.DESTROY
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)

        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts {config.name} endpoint volumes and log groups",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # CloudWatch Logs encrypts with the key only for log groups of this account and region.
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.alerts = AlertsTopic(
            self, "Alerts", emails=config.alert_emails, removal_policy=removal
        )
        # Shared by every model's functions: one layer version each per stack, one CodeDeploy
        # application whose deployment outcomes reach the alerts topic.
        self.powertools = PowertoolsLayer(self, "Powertools")
        self.deployment_hooks_layer = lambda_.LayerVersion(
            self,
            "DeploymentHooksLayer",
            code=code_from_folder(HOOKS_COMMON_CODE),
            compatible_runtimes=[RUNTIME],
            description="deployment_hooks_common: shared code of the CodeDeploy traffic hooks",
        )
        self.deployments = codedeploy.LambdaApplication(self, "Deployments")
        DeploymentNotifications(
            self,
            "DeploymentNotifications",
            application=self.deployments,
            topic=self.alerts.topic,
            dead_letter_queue=self.alerts.dead_letter_queue,
        )
        # The environment's VPC, when it has one: every function and instance-hosted model runs
        # in it.
        self.network: PrivateNetwork | None = None
        if config.vpc is not None:
            vpc = config.vpc
            self.network = PrivateNetwork(
                self,
                "Network",
                vpc_id=vpc.vpc_id,
                subnet_ids=vpc.subnet_ids,
                security_group_ids=vpc.security_group_ids,
                create_endpoints=vpc.create_endpoints,
                route_table_ids=vpc.route_table_ids,
            )
        placement = self.network.placement if self.network else None
        # One adopt-or-create provider for every model's endpoint log group, allowed only
        # this environment's endpoints' groups.
        self.endpoint_log_groups = EndpointLogGroupProvider(
            self,
            EndpointLogGroupProvider.CONSTRUCT_ID,
            endpoint_name_prefixes=[config.endpoint_name_prefix(m) for m in config.models],
            log_retention=retention_days(config.log_retention_days),
            log_encryption_key=self.data_key,
            log_removal_policy=removal,
            network=placement,
        )
        self._add_capture_bucket(removal)
        # One asset per function folder, shared by every model's functions. An asset belongs to
        # one stack, so models in nested stacks each make their own (of the same hash).
        shared_code = (
            {}
            if config.nested_model_stacks
            else {
                "frontend_code": code_from_folder(FRONTEND_CODE),
                "pre_traffic_code": code_from_folder(PRE_TRAFFIC_CODE),
                "post_traffic_code": code_from_folder(POST_TRAFFIC_CODE),
            }
        )
        self.model_stacks: dict[str, NestedStack] = {}
        self.models = {model.name: self._add_model(model, shared_code) for model in config.models}
        # SageMaker's own rollouts (endpoint-guardrails models) reach the topic too.
        native = [
            served.endpoint.endpoint_arn
            for served in self.models.values()
            if served.endpoint_native
        ]
        self.endpoint_deployment_notifications = (
            EndpointDeploymentNotifications(
                self,
                "EndpointDeploymentNotifications",
                endpoint_arns=native,
                topic=self.alerts.topic,
                dead_letter_queue=self.alerts.dead_letter_queue,
            )
            if native
            else None
        )
        self.api = self._add_prediction_api(removal)
        self.canary = self._add_canary(removal) if config.canary.enabled else None
        # Last: it shows every alarm defined above.
        self.dashboard = self._add_dashboard() if config.dashboard.enabled else None
        acknowledge_inline_policies(self)

    def _add_model(self, model: ModelConfig, code: Mapping[str, lambda_.Code]) -> ServedModel:
        """One model, in this stack or, with ``nested_model_stacks``, in a nested stack of its
        own (same construct id, so the same logical ids inside). Either way it uses the shared
        key, topic, layers, CodeDeploy application, capture bucket and log-group provider."""
        scope: Construct = self
        if self.config.nested_model_stacks:
            scope = self.model_stacks[model.name] = NestedStack(
                self, model.name, description=f"Model {model.name} of {self.config.name}"
            )
        return ServedModel(
            scope,
            model.name,
            environment=self.config,
            model=model,
            alerts=self.alerts,
            data_key=self.data_key,
            frontend_layers=[self.powertools.layer_version],
            hook_layers=[self.powertools.layer_version, self.deployment_hooks_layer],
            deployment_application=self.deployments,
            capture_bucket=self.capture_bucket,
            log_group_provider=self.endpoint_log_groups,
            network=self.network.placement if self.network else None,
            **code,
        )

    def _add_prediction_api(self, removal: RemovalPolicy) -> PredictionApi:
        """``POST /models/<model>/invocations`` to each model's ``live`` alias, its alarms, and
        the URLs as outputs (``ApiUrl``, ``InvokeUrl<model>``) for smoke tests and callers, and
        the endpoint each model is served from (``EndpointName<model>``)."""
        config = self.config
        settings = config.api
        plan = settings.key_usage_plan
        aliases = {name: served.frontend.alias for name, served in self.models.items()}
        self.web_acl: ApiWebAcl | None = None
        if config.creates_web_acl:
            self.web_acl = ApiWebAcl(
                self,
                "ApiWebAcl",
                managed_rule_groups=settings.waf.managed_rule_groups,
                rate_limit=settings.waf.rate_limit,
                log_retention=retention_days(config.log_retention_days),
                log_encryption_key=self.data_key,
                log_removal_policy=removal,
            )
        api = PredictionApi(
            self,
            "PredictionApi",
            routes=aliases,
            auth=ApiAuth(settings.auth),
            # API-wide only the binary types matter (registered so their bodies reach the
            # function base64-encoded); each model's own allowlist is its function's 415.
            allowed_content_types=list(
                dict.fromkeys(t for model in config.models for t in model.allowed_content_types)
            ),
            throttling_rate_limit=settings.throttling_rate_limit,
            throttling_burst_limit=settings.throttling_burst_limit,
            usage_plan_throttle=apigw.ThrottleSettings(
                rate_limit=plan.rate_limit, burst_limit=plan.burst_limit
            )
            if plan
            else None,
            usage_plan_quota=apigw.QuotaSettings(
                limit=plan.quota_limit, period=apigw.Period[plan.quota_period.upper()]
            )
            if plan and plan.quota_limit
            else None,
            access_log_retention=retention_days(config.log_retention_days),
            access_log_encryption_key=self.data_key,
            access_log_removal_policy=removal,
            execution_logging=settings.execution_logging,
            cloud_watch_role=settings.create_cloudwatch_role,
            web_acl_arn=self.web_acl.web_acl_arn if self.web_acl else settings.waf_web_acl_arn,
            invoke_accounts=self.api_invoke_accounts,
        )
        thresholds = settings.alarms
        self.api_alarms = ApiAlarms(
            self,
            "ApiAlarms",
            api=api,
            frontends=aliases,
            alarm_action=self.alerts.alarm_action,
            api_5xx_errors=thresholds.api_5xx_errors,
            frontend_errors=thresholds.frontend_errors,
            period=Duration.seconds(thresholds.period_seconds),
            evaluation_periods=thresholds.evaluation_periods,
            datapoints_to_alarm=thresholds.datapoints_to_alarm,
        )
        self.api_url_output = CfnOutput(
            self, "ApiUrl", value=api.url, description="Base URL of the prediction API"
        )
        self.invoke_url_outputs = {
            name: CfnOutput(
                self,
                f"InvokeUrl{name}",
                value=api.route_url(name),
                description=f"POST here to invoke model {name}",
            )
            for name in api.models
        }
        # What a smoke test compares each answer's x-sagemaker-endpoint with.
        self.endpoint_name_outputs = {
            name: CfnOutput(
                self,
                f"EndpointName{name}",
                value=served.endpoint.endpoint_name,
                description=f"The endpoint live serves model {name} from",
            )
            for name, served in self.models.items()
        }
        return api

    def _add_canary(self, removal: RemovalPolicy) -> ApiCanary:
        """A Synthetics canary calling every model's route, signed when the API uses IAM."""
        config = self.config
        settings = config.canary
        api = self.api
        signed = api.auth is ApiAuth.IAM
        canary = ApiCanary(
            self,
            "ApiCanary",
            base_url=api.url,
            routes=[
                CanaryRoute(
                    name=model.name,
                    path=api.route_path(model.name),
                    content_type=model.canary_sample.content_type,
                    body=model.canary_sample.body,
                )
                for model in config.models
            ],
            artifacts_bucket_name=f"{config.name}-canary-artifacts-{self.account}-{self.region}",
            sign_requests=signed,
            api_key=None if signed else api.api_key,
            schedule=Duration.minutes(settings.schedule_minutes),
            alarm_window=Duration.minutes(settings.alarm_window_minutes),
            success_threshold_percent=settings.success_threshold_percent,
            alarm_action=self.alerts.alarm_action,
            artifacts_retention=Duration.days(settings.artifact_retention_days),
            access_logs_bucket=self._access_logs_bucket(removal),
            log_retention=retention_days(config.log_retention_days),
            log_encryption_key=self.data_key,
            removal_policy=removal,
        )
        if signed:
            api.grant_invoke(canary.role)
        return canary

    def _add_dashboard(self) -> OperationsDashboard:
        return OperationsDashboard(
            self,
            "Dashboard",
            title=f"{self.config.name}: safe SageMaker endpoints",
            models=[
                DashboardModel(
                    name=name, endpoint=served.endpoint, function=served.frontend.function
                )
                for name, served in self.models.items()
            ],
            api=self.api,
            alarms=alarms_of(self),
            canary=self.canary,
        )

    def _add_capture_bucket(self, removal: RemovalPolicy) -> None:
        """The capture bucket and the access-log bucket, only when a model captures data."""
        config = self.config
        self.access_logs: AccessLogsBucket | None = None
        self.capture_bucket: DataCaptureBucket | None = None
        if any(model.data_capture.enabled for model in config.models):
            self.capture_bucket = DataCaptureBucket(
                self,
                "DataCapture",
                bucket_name=f"{config.name}-model-capture-{self.account}-{self.region}",
                retention=Duration.days(config.capture_retention_days),
                access_logs_bucket=self._access_logs_bucket(removal),
                removal_policy=removal,
            )

    def _access_logs_bucket(self, removal: RemovalPolicy) -> s3.IBucket:
        """One server-access-log bucket for every data bucket of the stack, made on first use."""
        if self.access_logs is None:
            self.access_logs = AccessLogsBucket(
                self,
                "AccessLogs",
                expiration=Duration.days(self.config.log_retention_days),
                removal_policy=removal,
            )
        return self.access_logs.bucket
