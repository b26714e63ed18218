"""Alarms that roll a blue/green shift back, watching only what the shift introduces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from safe_sagemaker.constructs import alarm_factory
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.model_frontend import ModelFrontend
from safe_sagemaker.constructs.stack_facts import stack_facts

_MICROSECONDS_PER_MS = 1000  # SageMaker reports latencies in microseconds
# Fewer ModelLatency samples than this in a period and the p99 is not judged (see the class).
DEFAULT_MODEL_LATENCY_MIN_SAMPLES = 20
DEFAULT_MAX_ERROR_RATIO = 0.02
DEFAULT_MIN_REQUESTS = 3


def rollback_alarm_name_prefix(scope: Construct, model_name: str) -> str:
    """What the names of every version's rollback alarms of ``model_name`` start with; a
    policy on ``<prefix>-*`` covers the next version's alarms before they exist."""
    return f"{stack_facts(scope).stack_name}-{model_name}-rollback"


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
        frontend_only: bool = False,
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
        :param frontend_only: the endpoint is the same before and after the shift (SageMaker
            rolls its model versions out itself, with its own alarms): a shift changes only the
            front end's code, and the front end's model metrics (one ``ModelVersion`` for
            every version) cannot tell the versions apart. Only
            ``frontend_error_ratio_alarm`` is made, on the new version's own Lambda ``Errors``
            per request; the pre-traffic hook's samples catch a version answering 500s.
            Default: false.
        """
        super().__init__(scope, construct_id)
        check_thresholds(
            max_error_ratio=max_error_ratio,
            min_requests=min_requests,
            model_latency_p99_ms=model_latency_p99_ms,
            model_latency_min_samples=model_latency_min_samples,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
        )
        green = (
            f"the new front end of {frontend.model_name} (endpoint {endpoint.endpoint_name})"
            if frontend_only
            else f"{endpoint.endpoint_name} (model version {frontend.model_version})"
        )
        name_prefix = rollback_alarm_name_prefix(self, frontend.model_name)
        version = frontend.version.version  # a token: the number CloudFormation publishes

        def guarded_alarm(
            construct_id: str, check: str, *, description: str, **props: Any
        ) -> cloudwatch.Alarm:
            """A guarded alarm (see ``alarm_factory.guarded_alarm``) named after the new
            version."""
            return alarm_factory.guarded_alarm(
                self,
                construct_id,
                alarm_name=f"{name_prefix}-{check}-v{version}",
                period=period,
                description=f"Rolls back the shift to {green}: {description}",
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                alarm_action=alarm_action,
                **props,
            )

        share = f"more than {max_error_ratio * 100:g}% of"
        self.endpoint_5xx_ratio_alarm: cloudwatch.Alarm | None = None
        self.model_latency_alarm: cloudwatch.Alarm | None = None
        if not frontend_only:
            self.endpoint_5xx_ratio_alarm = endpoint_5xx_ratio_alarm(
                guarded_alarm,
                endpoint,
                period=period,
                max_error_ratio=max_error_ratio,
                min_requests=min_requests,
                fleet="green",
                invocations="green's invocations",
            )
        # The new version's failures per request it served: with the front end's model metrics
        # (one ModelVersion per model version), or its own Lambda errors alone (frontend_only).
        failures: dict[str, cloudwatch.IMetric] = {
            "errors": frontend.metric_version_errors(period=period),
            "n": frontend.metric_version_invocations(period=period),
        }
        value, what = "FILL(errors, 0) / n", "ended in a function error (see its log)"
        if not frontend_only:
            failures = {
                "model": frontend.metric_model_errors(period=period),
                "timeouts": frontend.metric_model_timeouts(period=period),
                "failures": frontend.metric_frontend_failures(period=period),
                **failures,
            }
            value = "(FILL(model, 0) + FILL(timeouts, 0) + FILL(failures, 0) + FILL(errors, 0)) / n"
            what = "failed (model 5xx, timeouts, HTTP 500s, function errors; see its log)"
        self.frontend_error_ratio_alarm = guarded_alarm(
            "FrontendErrorRatio",
            "frontend-error-ratio",
            value=value,
            minimum=min_requests,
            metrics=failures,
            label=f"new version's failed share, 0 under {min_requests} requests",
            threshold=max_error_ratio,
            description=f"{share} the new version's requests in a period (with at least "
            f"{min_requests}) {what}",
        )
        self.alarms: list[cloudwatch.IAlarm] = [self.frontend_error_ratio_alarm]
        if frontend_only:
            return
        self.model_latency_alarm = model_latency_alarm(
            guarded_alarm,
            endpoint,
            period=period,
            model_latency_p99_ms=model_latency_p99_ms,
            model_latency_min_samples=model_latency_min_samples,
            latency="green endpoint p99 model latency",
        )
        assert self.endpoint_5xx_ratio_alarm is not None
        self.alarms = [
            self.endpoint_5xx_ratio_alarm,
            self.frontend_error_ratio_alarm,
            self.model_latency_alarm,
        ]


def endpoint_5xx_ratio_metrics(
    endpoint: ModelEndpoint, period: Duration, fleet: str | None = None
) -> dict[str, cloudwatch.IMetric]:
    """``e`` (Invocation5XXErrors) and ``n`` (Invocations) for ``FILL(e, 0) / n``, of the
    whole endpoint or of one ``fleet`` (``ModelEndpoint.metric``)."""
    return {
        "e": endpoint.metric_invocation_5xx_errors(period=period, fleet=fleet),
        "n": endpoint.metric_invocations(period=period, fleet=fleet),
    }


def model_latency_metrics(
    endpoint: ModelEndpoint, period: Duration, fleet: str | None = None
) -> dict[str, cloudwatch.IMetric]:
    """``p99`` ModelLatency and ``n``, its sample count (the requests), as above."""
    return {
        "p99": endpoint.metric_model_latency(period=period, fleet=fleet),
        "n": endpoint.metric_model_latency(statistic="SampleCount", period=period, fleet=fleet),
    }


def check_thresholds(
    *,
    max_error_ratio: float,
    min_requests: int,
    model_latency_p99_ms: int,
    model_latency_min_samples: int,
    evaluation_periods: int,
    datapoints_to_alarm: int,
) -> None:
    """The rules every set of rollback alarms' thresholds keeps; ValueError otherwise."""
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


def endpoint_5xx_ratio_alarm(
    guarded_alarm: Callable[..., cloudwatch.Alarm],
    endpoint: ModelEndpoint,
    *,
    period: Duration,
    max_error_ratio: float,
    min_requests: int,
    fleet: str,
    invocations: str,
    fleet_config: str | None = None,
) -> cloudwatch.Alarm:
    """An endpoint's 5xx-ratio rollback alarm (id ``Endpoint5XXRatio``), made by
    ``guarded_alarm(construct_id, check, *, description, **props)``; ``fleet`` and
    ``invocations`` name what it watches (``green``, ``green's invocations``)."""
    return guarded_alarm(
        "Endpoint5XXRatio",
        "endpoint-5xx-ratio",
        value="FILL(e, 0) / n",
        minimum=min_requests,
        metrics=endpoint_5xx_ratio_metrics(endpoint, period, fleet_config),
        label=f"{fleet} 5xx ratio, 0 under {min_requests} invocations",
        threshold=max_error_ratio,
        description=f"more than {max_error_ratio * 100:g}% of {invocations} in a period (with "
        f"at least {min_requests}) answered 5xx",
    )


def model_latency_alarm(
    guarded_alarm: Callable[..., cloudwatch.Alarm],
    endpoint: ModelEndpoint,
    *,
    period: Duration,
    model_latency_p99_ms: int,
    model_latency_min_samples: int,
    latency: str,
    fleet_config: str | None = None,
) -> cloudwatch.Alarm:
    """An endpoint's p99-latency rollback alarm (id ``ModelLatencyP99``), as
    ``endpoint_5xx_ratio_alarm``; ``latency`` names it (``green endpoint p99 model latency``)."""
    return guarded_alarm(
        "ModelLatencyP99",
        "model-latency-p99",
        value="p99",
        minimum=model_latency_min_samples,
        metrics=model_latency_metrics(endpoint, period, fleet_config),
        label=f"p99 ModelLatency (microseconds), 0 under {model_latency_min_samples} samples",
        threshold=model_latency_p99_ms * _MICROSECONDS_PER_MS,
        description=f"{latency} above {model_latency_p99_ms} ms over at least "
        f"{model_latency_min_samples} requests a period",
    )
