"""Alarms on a SageMaker endpoint's errors and latency, all routed to one action."""

from __future__ import annotations

from functools import partial

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint


class EndpointAlarms(Construct):
    """Invocation5XXErrors, Invocation4XXErrors, p99 ModelLatency and p99 OverheadLatency alarms.

    Missing data is "not breaching" for every alarm on purpose: SageMaker publishes these
    metrics only while requests arrive, so silence means "no traffic", not "broken". Traffic
    loss is the Synthetics canary's and the API alarms' job.

    Created resources: ``invocation_5xx_alarm``, ``invocation_4xx_alarm``,
    ``model_latency_alarm``, ``overhead_latency_alarm``, and for a serverless endpoint
    ``model_setup_time_alarm`` (all in ``alarms``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
        alarm_action: cloudwatch.IAlarmAction,
        invocation_5xx_errors: int = 5,
        invocation_4xx_errors: int = 50,
        model_latency_p99_ms: int = 1000,
        overhead_latency_p99_ms: int = 200,
        model_setup_time_p99_ms: int | None = None,
        period: Duration = Duration.minutes(1),
        evaluation_periods: int = 3,
        datapoints_to_alarm: int = 2,
    ) -> None:
        """
        :param endpoint: the endpoint to watch.
        :param alarm_action: where alarm and OK transitions go (e.g. ``AlertsTopic.alarm_action``).
        :param invocation_5xx_errors: 5xx errors a period above which to alarm. Default: 5.
        :param invocation_4xx_errors: 4xx errors a period above which to alarm. Default: 50.
        :param model_latency_p99_ms: p99 model latency in ms above which to alarm. Default: 1000.
        :param overhead_latency_p99_ms: p99 SageMaker overhead in ms above which to alarm.
            Default: 200.
        :param model_setup_time_p99_ms: p99 ModelSetupTime (a serverless cold start) in ms
            above which to alarm; for serverless endpoints, which alone publish it. Default:
            no such alarm.
        :param period: metric period. Default: 1 minute.
        :param evaluation_periods: periods evaluated. Default: 3.
        :param datapoints_to_alarm: breaching periods among them that raise the alarm. Default: 2.
        """
        super().__init__(scope, construct_id)
        thresholds = {
            "invocation_5xx_errors": invocation_5xx_errors,
            "invocation_4xx_errors": invocation_4xx_errors,
            "model_latency_p99_ms": model_latency_p99_ms,
            "overhead_latency_p99_ms": overhead_latency_p99_ms,
            "model_setup_time_p99_ms": model_setup_time_p99_ms or 1,
            "evaluation_periods": evaluation_periods,
            "datapoints_to_alarm": datapoints_to_alarm,
        }
        for name, value in thresholds.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if datapoints_to_alarm > evaluation_periods:
            raise ValueError("datapoints_to_alarm must not exceed evaluation_periods")
        name = endpoint.endpoint_name
        alarm = partial(
            threshold_alarm,
            self,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            alarm_action=alarm_action,
            notify_ok=True,
        )
        micros = 1000  # SageMaker reports latencies in microseconds
        self.invocation_5xx_alarm = alarm(
            "Invocation5XXErrors",
            metric=endpoint.metric_invocation_5xx_errors(period=period),
            threshold=invocation_5xx_errors,
            description=f"SageMaker endpoint {name}: more than {invocation_5xx_errors} 5xx "
            "errors a period (model or platform failing)",
        )
        self.invocation_4xx_alarm = alarm(
            "Invocation4XXErrors",
            metric=endpoint.metric_invocation_4xx_errors(period=period),
            threshold=invocation_4xx_errors,
            description=f"SageMaker endpoint {name}: more than {invocation_4xx_errors} 4xx "
            "errors a period (callers sending bad input)",
        )
        self.model_latency_alarm = alarm(
            "ModelLatencyP99",
            metric=endpoint.metric_model_latency(period=period),
            threshold=model_latency_p99_ms * micros,
            description=f"SageMaker endpoint {name}: p99 model latency above "
            f"{model_latency_p99_ms} ms",
        )
        self.overhead_latency_alarm = alarm(
            "OverheadLatencyP99",
            metric=endpoint.metric_overhead_latency(period=period),
            threshold=overhead_latency_p99_ms * micros,
            description=f"SageMaker endpoint {name}: p99 SageMaker overhead latency above "
            f"{overhead_latency_p99_ms} ms",
        )
        self.alarms = [
            self.invocation_5xx_alarm,
            self.invocation_4xx_alarm,
            self.model_latency_alarm,
            self.overhead_latency_alarm,
        ]
        self.model_setup_time_alarm: cloudwatch.Alarm | None = None
        if model_setup_time_p99_ms is not None:
            self.model_setup_time_alarm = alarm(
                "ModelSetupTimeP99",
                metric=endpoint.metric_model_setup_time(period=period),
                threshold=model_setup_time_p99_ms * micros,
                description=f"SageMaker serverless endpoint {name}: p99 model setup time (cold "
                f"start) above {model_setup_time_p99_ms} ms",
            )
            self.alarms.append(self.model_setup_time_alarm)
