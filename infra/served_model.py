"""One model of an environment, composed from the reusable constructs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig, ModelConfig
from infra.constructs.alerts_topic import AlertsTopic
from infra.constructs.endpoint_alarms import EndpointAlarms
from infra.constructs.endpoint_autoscaling import EndpointAutoscaling
from infra.constructs.model_endpoint import ModelEndpoint
from infra.log_retention import retention_days


class ServedModel(Construct):
    """Endpoint, autoscaling and alarms of one configured model."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        model: ModelConfig,
        alerts: AlertsTopic,
        data_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = model
        self.fingerprint = model.fingerprint()
        self.endpoint_name_prefix = environment.endpoint_name_prefix(model)
        removal = RemovalPolicy.RETAIN if environment.production else RemovalPolicy.DESTROY
        self.endpoint = ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=environment.endpoint_name(model),
            image_uri=model.image_uri,
            model_data_url=model.model_data_url,
            instance_type=model.instance_type,
            initial_instance_count=model.initial_instance_count,
            variant_name=model.variant_name,
            container_environment=model.container_environment,
            serverless_memory_size_mb=model.serverless.memory_size_mb if model.serverless else None,
            serverless_max_concurrency=model.serverless.max_concurrency if model.serverless else 5,
            volume_encryption_key=data_key,
            log_encryption_key=data_key,
            log_retention=retention_days(environment.log_retention_days),
            log_removal_policy=removal,
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
                scale_in_cooldown=Duration.seconds(scaling.scale_in_cooldown_seconds),
                scale_out_cooldown=Duration.seconds(scaling.scale_out_cooldown_seconds),
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
            period=Duration.seconds(thresholds.period_seconds),
            evaluation_periods=thresholds.evaluation_periods,
            datapoints_to_alarm=thresholds.datapoints_to_alarm,
        )

