"""Alarms that roll a blue/green shift back, watching only what the shift introduces."""

from __future__ import annotations

from functools import partial

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.constructs.alarm_factory import threshold_alarm
from infra.constructs.model_endpoint import ModelEndpoint
from infra.constructs.model_frontend import ModelFrontend

_MICROSECONDS_PER_MS = 1000  # SageMaker reports latencies in microseconds
# Fewer ModelLatency samples than this in a period and the p99 is not judged (see the class).
DEFAULT_MODEL_LATENCY_MIN_SAMPLES = 20


class GreenRollbackAlarms(Construct):
    """Alarms for a CodeDeploy deployment group, each scoped to the new (green) side only:

    - the green endpoint's ``Invocation5XXErrors`` and p99 ``ModelLatency`` (dimensions hold the
      endpoint's literal name, which only green has);
    - the new front-end version's Lambda ``Errors`` (alias + ``ExecutedVersion``);
    - the front end's ``ModelErrors``, ``ModelTimeouts`` and ``FrontendFailures`` (every 500 it
      answers: access denied, bugs, ...) of the new model version (``ModelVersion`` = the
      fingerprint, which only green's version emits).

    The latency alarm watches metric math, ``IF(n >= MIN_SAMPLES, p99, 0)``: the p99 of a period
    counts only once green served at least ``model_latency_min_samples`` requests in it. Green's
    first invocations are the pre-traffic hook's few sample requests, whose p99 is merely the
    slowest of a handful (a cold first inference); judged alone it would roll a healthy model
    back. The price: while green serves fewer requests a period than that, its latency cannot
    roll the shift back (the endpoint's own p99 alarm, ``EndpointAlarms``, still notifies).

    None of them can be tripped by blue's traffic alone, so blue's trouble never rolls green
    back. Missing data is not breaching: no traffic on green is the post-traffic hook's call.

    Created resources: ``endpoint_5xx_alarm``, ``model_latency_alarm``,
    ``frontend_errors_alarm``, ``model_errors_alarm``, ``model_timeouts_alarm``,
    ``frontend_failures_alarm`` (all in ``alarms``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
        frontend: ModelFrontend,
        invocation_5xx_errors: int = 2,
        model_latency_p99_ms: int = 1000,
        model_latency_min_samples: int = DEFAULT_MODEL_LATENCY_MIN_SAMPLES,
        frontend_errors: int = 0,
        model_errors: int = 2,
        model_timeouts: int = 2,
        frontend_failures: int = 0,
        period: Duration = Duration.minutes(1),
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param endpoint: the endpoint the new version calls (green).
        :param frontend: the front end whose current version is new.
        :param invocation_5xx_errors: green 5xx a period above which to alarm. Default: 2.
        :param model_latency_p99_ms: green p99 model latency (ms) above which to alarm.
            Default: 1000.
        :param model_latency_min_samples: green ``ModelLatency`` samples (requests) a period
            below which the p99 is not judged (the alarm sees 0). Default: 20.
        :param frontend_errors: new-version function errors a period above which to alarm.
            Default: 0 (any).
        :param model_errors: new-version ``ModelErrors`` a period above which to alarm.
            Default: 2.
        :param model_timeouts: new-version ``ModelTimeouts`` a period above which to alarm.
            Default: 2.
        :param frontend_failures: new-version ``FrontendFailures`` (500 answers) a period above
            which to alarm. Default: 0 (any).
        :param period: Default: 1 minute.
        :param evaluation_periods: Default: 1.
        :param datapoints_to_alarm: Default: 1.
        :param alarm_action: also notify here (e.g. ``AlertsTopic.alarm_action``) so on-call
            sees which check stopped the shift. Default: CodeDeploy alone reacts.
        """
        super().__init__(scope, construct_id)
        for name, value in {
            "invocation_5xx_errors": invocation_5xx_errors,
            "frontend_errors": frontend_errors,
            "model_errors": model_errors,
            "model_timeouts": model_timeouts,
            "frontend_failures": frontend_failures,
        }.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if model_latency_p99_ms <= 0:
            raise ValueError(f"model_latency_p99_ms must be positive, got {model_latency_p99_ms}")
        if model_latency_min_samples < 1:
            raise ValueError(
                f"model_latency_min_samples must be at least 1, got {model_latency_min_samples}"
            )
        if not 0 < datapoints_to_alarm <= evaluation_periods:
            raise ValueError("datapoints_to_alarm must be between 1 and evaluation_periods")
        green = f"{endpoint.endpoint_name} (model version {frontend.model_version})"

        alarm = partial(
            threshold_alarm,
            self,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            alarm_action=alarm_action,
        )
        self.endpoint_5xx_alarm = alarm(
            "Endpoint5XXErrors",
            metric=endpoint.metric_invocation_5xx_errors(period=period),
            threshold=invocation_5xx_errors,
            description=f"Rolls back the shift to {green}: green endpoint answered more than "
            f"{invocation_5xx_errors} 5xx a period",
        )
        guarded_p99 = cloudwatch.MathExpression(
            expression=f"IF(n >= {model_latency_min_samples}, p99, 0)",
            using_metrics={
                "p99": endpoint.metric_model_latency(period=period),
                "n": endpoint.metric_model_latency(statistic="SampleCount", period=period),
            },
            label=f"p99 ModelLatency (microseconds), 0 under {model_latency_min_samples} samples",
            period=period,
        )
        self.model_latency_alarm = alarm(
            "ModelLatencyP99",  # the id of the single-metric alarm before it: same logical id
            metric=guarded_p99,
            threshold=model_latency_p99_ms * _MICROSECONDS_PER_MS,
            description=f"Rolls back the shift to {green}: green endpoint p99 model latency "
            f"above {model_latency_p99_ms} ms over at least {model_latency_min_samples} "
            "requests a period",
        )
        self.frontend_errors_alarm = alarm(
            "FrontendErrors",
            metric=frontend.metric_version_errors(period=period),
            threshold=frontend_errors,
            description=f"Rolls back the shift to {green}: new front-end version failed more "
            f"than {frontend_errors} times a period",
        )
        self.model_errors_alarm = alarm(
            "ModelErrors",
            metric=frontend.metric_model_errors(period=period),
            threshold=model_errors,
            description=f"Rolls back the shift to {green}: more than {model_errors} model "
            "errors a period",
        )
        self.model_timeouts_alarm = alarm(
            "ModelTimeouts",
            metric=frontend.metric_model_timeouts(period=period),
            threshold=model_timeouts,
            description=f"Rolls back the shift to {green}: more than {model_timeouts} model "
            "timeouts a period",
        )
        self.frontend_failures_alarm = alarm(
            "FrontendFailures",
            metric=frontend.metric_frontend_failures(period=period),
            threshold=frontend_failures,
            description=f"Rolls back the shift to {green}: the new front-end version answered "
            f"more than {frontend_failures} HTTP 500s a period (access denied, a bug, ...: see "
            "its log)",
        )
        self.alarms: list[cloudwatch.IAlarm] = [
            self.endpoint_5xx_alarm,
            self.model_latency_alarm,
            self.frontend_errors_alarm,
            self.model_errors_alarm,
            self.model_timeouts_alarm,
            self.frontend_failures_alarm,
        ]
