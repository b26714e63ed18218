"""Alarms that roll a blue/green shift back, watching only what the shift introduces."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.constructs.alarm_factory import threshold_alarm
from infra.constructs.model_endpoint import ModelEndpoint
from infra.constructs.model_frontend import ModelFrontend

_MICROSECONDS_PER_MS = 1000  # SageMaker reports latencies in microseconds
# Fewer ModelLatency samples than this in a period and the p99 is not judged (see the class).
DEFAULT_MODEL_LATENCY_MIN_SAMPLES = 20
DEFAULT_MAX_ERROR_RATIO = 0.02
DEFAULT_MIN_REQUESTS = 3


def rollback_alarm_name_prefix(scope: Construct, model_name: str) -> str:
    """What the names of every version's rollback alarms of ``model_name`` start with; a
    policy on ``<prefix>-*`` covers the next version's alarms before they exist."""
    return f"{Stack.of(scope).stack_name}-{model_name}-rollback"


class GreenRollbackAlarms(Construct):
    """Alarms for a CodeDeploy deployment group, each scoped to the new (green) side only and
    each judging a RATIO over a minimum number of requests, never an absolute count:

    - ``endpoint_5xx_ratio_alarm``: green's ``Invocation5XXErrors / Invocations`` (the
      endpoint's literal name is in the dimensions, and only green has it). Callers' bad input
      (the container's 4xx) is ``Invocation4XXErrors`` and never counts.
    - ``frontend_error_ratio_alarm``: what went wrong in the new front-end version, divided by
      the requests it served through the alias (``ExecutedVersion``): ``ModelErrors`` (the
      container answered 5xx), ``ModelTimeouts``, ``FrontendFailures`` (every 500 it
      answered: access denied, a bug) and Lambda ``Errors``. ``ModelClientErrors`` (the
      container's 4xx) are left out on purpose.
    - ``model_latency_alarm``: green's p99 ``ModelLatency``.

    Why ratios: a count threshold is blind at low traffic (10% of a quiet API never reaches
    "more than 2 a minute" even when every request fails) and trips on a busy API for a tiny
    error rate. A ratio is judged only in a period with at least ``min_requests`` requests
    (``IF(n >= min, errors / n, 0)``), so one unlucky request of a cold green does not decide;
    below that, the post-traffic hook judges green over the whole deployment.

    The latency alarm likewise watches ``IF(n >= MIN_SAMPLES, p99, 0)``: green's first
    invocations are the pre-traffic hook's few sample requests, whose p99 is merely the
    slowest of a handful (a cold first inference).

    Every alarm's NAME carries the new front-end version's number, so each deployment gets
    fresh alarms (CloudFormation replaces an alarm whose name changes) that start in
    INSUFFICIENT_DATA. Updated in place, an alarm would keep the state it had: one still in
    ALARM because the live version is failing would stop the very deployment that fixes it.
    Fresh alarms also see no data from before the deployment: their dimensions are new.

    None of them can be tripped by blue's traffic alone, so blue's trouble never rolls green
    back. Missing data is not breaching: no traffic on green is the post-traffic hook's call.

    Created resources: ``endpoint_5xx_ratio_alarm``, ``frontend_error_ratio_alarm``,
    ``model_latency_alarm`` (all in ``alarms``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
        frontend: ModelFrontend,
        max_error_ratio: float = DEFAULT_MAX_ERROR_RATIO,
        min_requests: int = DEFAULT_MIN_REQUESTS,
        model_latency_p99_ms: int = 1000,
        model_latency_min_samples: int = DEFAULT_MODEL_LATENCY_MIN_SAMPLES,
        period: Duration = Duration.minutes(1),
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param endpoint: the endpoint the new version calls (green).
        :param frontend: the front end whose current version is new.
        :param max_error_ratio: share of green's requests in a period that may fail before
            the shift rolls back (both ratio alarms). Default: 0.02.
        :param min_requests: requests a period below which the ratios are not judged (the
            alarms see 0). Default: 3.
        :param model_latency_p99_ms: green p99 model latency (ms) above which to alarm.
            Default: 1000.
        :param model_latency_min_samples: green ``ModelLatency`` samples (requests) a period
            below which the p99 is not judged (the alarm sees 0). Default: 20.
        :param period: Default: 1 minute.
        :param evaluation_periods: Default: 1.
        :param datapoints_to_alarm: Default: 1.
        :param alarm_action: also notify here (e.g. ``AlertsTopic.alarm_action``) so on-call
            sees which check stopped the shift. Default: CodeDeploy alone reacts.
        """
        super().__init__(scope, construct_id)
        if not 0 < max_error_ratio < 1:
            raise ValueError(f"max_error_ratio must be between 0 and 1, got {max_error_ratio}")
        if min_requests < 1:
            raise ValueError(f"min_requests must be at least 1, got {min_requests}")
        if model_latency_p99_ms <= 0:
            raise ValueError(f"model_latency_p99_ms must be positive, got {model_latency_p99_ms}")
        if model_latency_min_samples < 1:
            raise ValueError(
                f"model_latency_min_samples must be at least 1, got {model_latency_min_samples}"
            )
        if not 0 < datapoints_to_alarm <= evaluation_periods:
            raise ValueError("datapoints_to_alarm must be between 1 and evaluation_periods")
        green = f"{endpoint.endpoint_name} (model version {frontend.model_version})"
        name_prefix = rollback_alarm_name_prefix(self, frontend.model_name)
        version = frontend.version.version  # a token: the number CloudFormation publishes

        def guarded_alarm(
            construct_id: str,
            check: str,
            *,
            value: str,
            minimum: int,
            metrics: dict[str, cloudwatch.IMetric],
            label: str,
            threshold: float,
            description: str,
        ) -> cloudwatch.Alarm:
            """An alarm on ``value``, judged only in periods where ``n`` reaches ``minimum``
            (0 otherwise), named after the new version."""
            return threshold_alarm(
                self,
                construct_id,
                alarm_name=f"{name_prefix}-{check}-v{version}",
                metric=cloudwatch.MathExpression(
                    expression=f"IF(n >= {minimum}, {value}, 0)",
                    using_metrics=metrics,
                    label=label,
                    period=period,
                ),
                threshold=threshold,
                description=f"Rolls back the shift to {green}: {description}",
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                alarm_action=alarm_action,
            )

        share = f"more than {max_error_ratio * 100:g}% of"
        self.endpoint_5xx_ratio_alarm = guarded_alarm(
            "Endpoint5XXRatio",
            "endpoint-5xx-ratio",
            value="FILL(e, 0) / n",
            minimum=min_requests,
            metrics={
                "e": endpoint.metric_invocation_5xx_errors(period=period),
                "n": endpoint.metric_invocations(period=period),
            },
            label=f"green 5xx ratio, 0 under {min_requests} invocations",
            threshold=max_error_ratio,
            description=f"{share} green's invocations in a period (with at least "
            f"{min_requests}) answered 5xx",
        )
        self.frontend_error_ratio_alarm = guarded_alarm(
            "FrontendErrorRatio",
            "frontend-error-ratio",
            value="(FILL(model, 0) + FILL(timeouts, 0) + FILL(failures, 0) + FILL(errors, 0)) / n",
            minimum=min_requests,
            metrics={
                "model": frontend.metric_model_errors(period=period),
                "timeouts": frontend.metric_model_timeouts(period=period),
                "failures": frontend.metric_frontend_failures(period=period),
                "errors": frontend.metric_version_errors(period=period),
                "n": frontend.metric_version_invocations(period=period),
            },
            label=f"new version's failed share, 0 under {min_requests} requests",
            threshold=max_error_ratio,
            description=f"{share} the new version's requests in a period (with at least "
            f"{min_requests}) failed (model 5xx, timeouts, HTTP 500s, function errors; see its "
            "log)",
        )
        self.model_latency_alarm = guarded_alarm(
            "ModelLatencyP99",
            "model-latency-p99",
            value="p99",
            minimum=model_latency_min_samples,
            metrics={
                "p99": endpoint.metric_model_latency(period=period),
                "n": endpoint.metric_model_latency(statistic="SampleCount", period=period),
            },
            label=f"p99 ModelLatency (microseconds), 0 under {model_latency_min_samples} samples",
            threshold=model_latency_p99_ms * _MICROSECONDS_PER_MS,
            description=f"green endpoint p99 model latency above {model_latency_p99_ms} ms over "
            f"at least {model_latency_min_samples} requests a period",
        )
        self.alarms: list[cloudwatch.IAlarm] = [
            self.endpoint_5xx_ratio_alarm,
            self.frontend_error_ratio_alarm,
            self.model_latency_alarm,
        ]
