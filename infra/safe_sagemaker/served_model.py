"""One model of an environment, composed from the reusable constructs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from safe_sagemaker import durations
from safe_sagemaker.checkov import skip_checks
from safe_sagemaker.config import (
    SERVERLESS_MODEL_SETUP_TIME_P99_MS,
    EnvironmentConfig,
    ModelConfig,
    check_model,
)
from safe_sagemaker.constructs.alerts_topic import AlertsTopic
from safe_sagemaker.constructs.blue_green_deployment import (
    BlueGreenDeployment,
    lambda_deployment_config,
)
from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
from safe_sagemaker.constructs.endpoint_alarms import EndpointAlarms
from safe_sagemaker.constructs.endpoint_autoscaling import EndpointAutoscaling
from safe_sagemaker.constructs.endpoint_log_groups import EndpointLogGroupProvider
from safe_sagemaker.constructs.endpoint_rollback_alarms import EndpointRollbackAlarms
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.model_frontend import ModelFrontend
from safe_sagemaker.constructs.model_monitor import DataQualityMonitor
from safe_sagemaker.constructs.private_network import NetworkPlacement
from safe_sagemaker.constructs.rollback_alarms import GreenRollbackAlarms
from safe_sagemaker.log_retention import retention_days

# The front end's ModelVersion under endpoint-guardrails: the model version lives in the
# endpoint's config, which SageMaker switches; the front end must not change with it.
ENDPOINT_MANAGED_MODEL_VERSION = "endpoint-managed"


class ServedModel(Construct):
    """Endpoint, autoscaling and alarms of one configured model, and its blue/green front end:
    ``frontend`` (function, version, alias ``live``) and ``deployment`` (CodeDeploy group,
    hooks, rollback alarms).

    Usable on its own: ``environment`` and ``model`` are config objects built in code or loaded
    from a file, and the same rules apply either way (an ``EnvironmentConfig`` checks its models
    when built; this construct checks ``model`` against ``environment`` again, as it may not be
    one of its models). A broken rule raises ``ConfigError`` naming the field and the fix.

    Under ``endpoint-guardrails`` (``endpoint_native``) the endpoint keeps one name and SageMaker
    rolls new model versions out in place (``endpoint.update_policy``, watched by
    ``endpoint_rollback_alarms``); the front end names that endpoint and no model version, so a
    model change publishes no new Lambda version. CodeDeploy then shifts the alias only for
    front-end changes, judged by the new version's own errors (``rollback_alarms``,
    front-end only) and the pre-traffic hook's samples, with no capacity matching (one
    endpoint)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        model: ModelConfig,
        alerts: AlertsTopic,
        data_key: kms.IKey,
        frontend_layers: Sequence[lambda_.ILayerVersion] = (),
        hook_layers: Sequence[lambda_.ILayerVersion] = (),
        deployment_application: codedeploy.ILambdaApplication | None = None,
        capture_bucket: DataCaptureBucket | None = None,
        frontend_code: lambda_.Code | None = None,
        pre_traffic_code: lambda_.Code | None = None,
        post_traffic_code: lambda_.Code | None = None,
        log_group_provider: EndpointLogGroupProvider | None = None,
        network: NetworkPlacement | None = None,
    ) -> None:
        """The ``*_code`` props: the functions' code. Default: a new asset of the function's
        folder; a stack with many models passes one ``Code`` per folder, which every model's
        functions then share (one asset, fewer synth steps, the same template). A ``Code``
        belongs to one stack: models in nested stacks of their own each take the default.
        ``log_group_provider``: adopts or creates the endpoint's log group. Default: the one of
        this construct's stack (``EndpointLogGroupProvider.of``); a model in a nested stack
        passes its parent's, so one provider serves the environment.
        ``network``: the environment's VPC placement, for the functions and (unless the model is
        serverless, which SageMaker does not place in a VPC) the Model. Default: none."""
        check_model(environment, model)
        super().__init__(scope, construct_id)
        self.config = model
        self.fingerprint = environment.fingerprint(model)
        self.endpoint_name_prefix = environment.endpoint_name_prefix(model)
        removal = RemovalPolicy.RETAIN if environment.production else RemovalPolicy.DESTROY
        endpoint_name = environment.endpoint_name(model)
        self.endpoint_native = environment.endpoint_native(model)
        guardrails = environment.guardrails_for(model)
        capture = model.data_capture
        if capture.enabled and capture_bucket is None:
            raise ValueError(f"model {model.name!r} captures data but no capture_bucket was given")
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            image_uri=model.image_uri,
            model_data_url=model.model_data_url,
            model_package_arn=model.model_package_arn,
            instance_type=model.instance_type,
            initial_instance_count=model.initial_instance_count,
            variant_name=model.variant_name,
            container_environment=model.container_environment,
            network_isolation=model.network_isolated,
            network=network if environment.model_vpc(model) else None,
            serverless_memory_size_mb=model.serverless.memory_size_mb if model.serverless else None,
            serverless_max_concurrency=model.serverless.max_concurrency if model.serverless else 5,
            serverless_provisioned_concurrency=(
                model.serverless.provisioned_concurrency if model.serverless else None
            ),
            volume_encryption_key=data_key,
            log_encryption_key=data_key,
            log_retention=retention_days(environment.log_retention_days),
            log_group_tags=environment.tags,
            log_group_provider=log_group_provider,
            data_capture_config=capture_bucket.capture_config(
                endpoint_name,
                sampling_percentage=capture.sampling_percentage,
                json_content_types=capture.json_content_types,
                csv_content_types=capture.csv_content_types,
            )
            if capture_bucket is not None and capture.enabled
            else None,
            update_policy=guardrails.policy() if guardrails else None,
            version=self.fingerprint if self.endpoint_native else None,
            # AWS: autoscaling is blocked during an update; the new fleet starts at the old
            # fleet's current size instead of initial_instance_count.
            retain_variant_properties=self.endpoint_native and model.autoscaling is not None,
        )
        if not model.network_isolated:
            reason = (
                str(model.network_isolation.reason)  # required to turn isolation off
                if model.network_isolation is not None
                else "SageMaker does not support network isolation on serverless endpoints"
            )
            skip_checks(self.endpoint.model, reason, "CKV_AWS_370")
        self.monitor: DataQualityMonitor | None = None
        if capture_bucket is not None and capture.enabled:
            capture_bucket.grant_capture(self.endpoint.role, endpoint_name)
            if model.monitoring is not None:
                self.monitor = self._add_monitor(
                    model,
                    endpoint_name,
                    capture_bucket,
                    alerts,
                    data_key=data_key,
                    environment_name=environment.name,
                )
        self.autoscaling: EndpointAutoscaling | None = None
        if model.autoscaling is not None:
            scaling = model.autoscaling
            self.autoscaling = EndpointAutoscaling(
                self,
                "Autoscaling",
                endpoint=self.endpoint,
                min_capacity=scaling.min_capacity,
                max_capacity=scaling.max_capacity,
                target_invocations_per_instance=scaling.target_value,
                scale_in_cooldown=durations.seconds(scaling.scale_in_cooldown_seconds),
                scale_out_cooldown=durations.seconds(scaling.scale_out_cooldown_seconds),
            )
        thresholds = model.alarms
        self.alarms = EndpointAlarms(
            self,
            "Alarms",
            endpoint=self.endpoint,
            alarm_action=alerts.alarm_action,
            invocation_5xx_errors=thresholds.invocation_5xx_errors,
            invocation_4xx_errors=thresholds.invocation_4xx_errors,
            model_latency_p99_ms=thresholds.model_latency_p99_ms,
            overhead_latency_p99_ms=thresholds.overhead_latency_p99_ms,
            # Only serverless endpoints publish ModelSetupTime (their cold starts).
            model_setup_time_p99_ms=(
                thresholds.model_setup_time_p99_ms or SERVERLESS_MODEL_SETUP_TIME_P99_MS
                if model.serverless is not None
                else None
            ),
            period=durations.seconds(thresholds.period_seconds),
            evaluation_periods=thresholds.evaluation_periods,
            datapoints_to_alarm=thresholds.datapoints_to_alarm,
        )
        self.endpoint_rollback_alarms: EndpointRollbackAlarms | None = None
        if guardrails is not None and guardrails.auto_rollback:
            rollback = model.deployment.rollback_alarms
            self.endpoint_rollback_alarms = EndpointRollbackAlarms(
                self,
                "EndpointRollbackAlarms",
                endpoint=self.endpoint,
                max_error_ratio=rollback.max_error_ratio,
                min_requests=rollback.min_requests,
                model_latency_p99_ms=(
                    rollback.model_latency_p99_ms or model.alarms.model_latency_p99_ms
                ),
                period=durations.seconds(rollback.period_seconds),
                evaluation_periods=rollback.evaluation_periods,
                datapoints_to_alarm=rollback.datapoints_to_alarm,
                alarm_action=alerts.alarm_action,
            )
        self._add_blue_green(
            environment=environment,
            model=model,
            alerts=alerts,
            data_key=data_key,
            removal=removal,
            frontend_layers=frontend_layers,
            hook_layers=hook_layers,
            application=deployment_application,
            frontend_code=frontend_code,
            pre_traffic_code=pre_traffic_code,
            post_traffic_code=post_traffic_code,
            network=network,
        )

    def _add_monitor(
        self,
        model: ModelConfig,
        endpoint_name: str,
        capture_bucket: DataCaptureBucket,
        alerts: AlertsTopic,
        *,
        data_key: kms.IKey,
        environment_name: str,
    ) -> DataQualityMonitor:
        assert model.monitoring is not None
        settings = model.monitoring
        return DataQualityMonitor(
            self,
            "Monitor",
            endpoint_name=endpoint_name,
            capture_bucket=capture_bucket,
            baseline_statistics_uri=settings.baseline_statistics_uri,
            baseline_constraints_uri=settings.baseline_constraints_uri,
            volume_encryption_key=data_key,
            alerts_topic=alerts.topic,
            # Named after the endpoint (a new one with green, as the schedule), so every
            # findings rule of the environment is named <env>-..., and one statement of the
            # queue's policy admits them all. No other environment's: its name has no hyphen.
            findings_rule_name=endpoint_name,
            dead_letter_queue=alerts.dead_letter_queue_for_rules(self, f"{environment_name}-*"),
            alarm_action=alerts.alarm_action,
            instance_type=settings.instance_type,
            volume_size_gb=settings.volume_size_gb,
            max_runtime=durations.minutes(settings.max_runtime_minutes),
            endpoint=self.endpoint.endpoint,
            # The job reads the captures where the model writes them: from the model's subnets.
            network=self.endpoint.network,
        )

    def _add_blue_green(
        self,
        *,
        environment: EnvironmentConfig,
        model: ModelConfig,
        alerts: AlertsTopic,
        data_key: kms.IKey,
        removal: RemovalPolicy,
        frontend_layers: Sequence[lambda_.ILayerVersion],
        hook_layers: Sequence[lambda_.ILayerVersion],
        application: codedeploy.ILambdaApplication | None,
        frontend_code: lambda_.Code | None,
        pre_traffic_code: lambda_.Code | None,
        post_traffic_code: lambda_.Code | None,
        network: NetworkPlacement | None,
    ) -> None:
        log_settings: dict[str, Any] = {
            "log_retention": retention_days(environment.log_retention_days),
            "log_encryption_key": data_key,
            "log_removal_policy": removal,
            "network": network,
        }
        self.frontend = ModelFrontend(
            self,
            "Frontend",
            endpoint=self.endpoint,
            model_name=model.name,
            model_version=(
                ENDPOINT_MANAGED_MODEL_VERSION if self.endpoint_native else self.fingerprint
            ),
            endpoint_name_pattern=environment.endpoint_name_pattern(model),
            allowed_content_types=model.allowed_content_types,
            reserved_concurrency=model.reserved_concurrency,
            code=frontend_code,
            layers=frontend_layers,
            **log_settings,
        )
        settings = model.deployment
        rollback = settings.rollback_alarms
        self.rollback_alarms = GreenRollbackAlarms(
            self,
            "RollbackAlarms",
            endpoint=self.endpoint,
            frontend=self.frontend,
            max_error_ratio=rollback.max_error_ratio,
            min_requests=rollback.min_requests,
            model_latency_p99_ms=rollback.model_latency_p99_ms or model.alarms.model_latency_p99_ms,
            period=durations.seconds(rollback.period_seconds),
            evaluation_periods=rollback.evaluation_periods,
            datapoints_to_alarm=rollback.datapoints_to_alarm,
            alarm_action=alerts.alarm_action,
            frontend_only=self.endpoint_native,
        )
        self.deployment = BlueGreenDeployment(
            self,
            "Deployment",
            frontend=self.frontend,
            endpoint=self.endpoint,
            layers=hook_layers,
            # One endpoint under endpoint-guardrails: there is no green fleet to size.
            autoscaling=None if self.endpoint_native else self.autoscaling,
            application=application,
            deployment_config=lambda_deployment_config(environment.deployment_config_for(model)),
            rollback_alarms=self.rollback_alarms.alarms,
            sample_requests=[sample.hook_json() for sample in model.pre_traffic_samples],
            min_invocations=model.post_traffic_min_invocations,
            max_5xx_ratio=settings.max_5xx_ratio,
            metrics_wait=durations.seconds(settings.metrics_wait_seconds),
            alarm_action=alerts.alarm_action,
            pre_traffic_code=pre_traffic_code,
            post_traffic_code=post_traffic_code,
            **log_settings,
        )
