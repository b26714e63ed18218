"""The alarms SageMaker watches while it updates an endpoint in place (deployment guardrails)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.constructs.alarm_factory import guarded_alarm
from infra.constructs.model_endpoint import ModelEndpoint
from infra.constructs.rollback_alarms import (
    DEFAULT_MAX_ERROR_RATIO,
    DEFAULT_MIN_REQUESTS,
    DEFAULT_MODEL_LATENCY_MIN_SAMPLES,
    endpoint_5xx_ratio_metrics,
    model_latency_metrics,
)

_MICROSECONDS_PER_MS = 1000


class EndpointRollbackAlarms(Construct):
    """Two alarms on an endpoint with an ``update_policy``, added to its
    ``AutoRollbackConfiguration``: during a bake, either one in ALARM makes SageMaker send all
    traffic back to the old fleet.

    - ``endpoint_5xx_ratio_alarm``: ``Invocation5XXErrors / Invocations``, judged in periods with
      at least ``min_requests`` invocations (metric math, as in AWS's own guardrails example of
      an error-rate alarm). Callers' bad input (4xx) never counts.
    - ``model_latency_alarm``: p99 ``ModelLatency`` over at least ``model_latency_min_samples``
      requests a period.

    They watch the endpoint as a whole: both fleets answer under the one endpoint name and
    variant, so the old fleet's errors count too. That errs towards keeping the old fleet
    (SageMaker rolls back; it never promotes a failing new one), but an endpoint already failing
    stops every update: to deploy a fix then, turn the rollback alarms off for that update
    (``deployment.guardrails.auto_rollback`` false in the config). The alarms are the endpoint's
    own and stay across model versions (a model change replaces nothing but the Model and the
    EndpointConfig), so an alarm still in ALARM when an update starts may stop it at once.

    Created resources: ``endpoint_5xx_ratio_alarm``, ``model_latency_alarm`` (in ``alarms``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ModelEndpoint,
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
        :param endpoint: the endpoint SageMaker updates in place; it must have an
            ``update_policy``.
        :param max_error_ratio: share of the endpoint's invocations in a period that may answer
            5xx during a bake. Default: 0.02.
        :param min_requests: invocations a period below which the ratio is not judged.
            Default: 3.
        :param model_latency_p99_ms: p99 model latency (ms) above which to roll back.
            Default: 1000.
        :param model_latency_min_samples: requests a period below which the p99 is not judged.
            Default: 20.
        :param period: Default: 1 minute.
        :param evaluation_periods: Default: 1.
        :param datapoints_to_alarm: Default: 1.
        :param alarm_action: also notify here, so on-call sees what stopped the update.
            Default: SageMaker alone reacts.
        """
        super().__init__(scope, construct_id)
        if endpoint.update_policy is None:
            raise ValueError("the endpoint has no update_policy: SageMaker would watch no alarm")
        if not 0 < max_error_ratio < 1:
            raise ValueError(f"max_error_ratio must be between 0 and 1, got {max_error_ratio}")
        if min(min_requests, model_latency_min_samples, model_latency_p99_ms) < 1:
            raise ValueError(
                "min_requests, model_latency_min_samples and model_latency_p99_ms must be "
                "at least 1"
            )
        if not 0 < datapoints_to_alarm <= evaluation_periods:
            raise ValueError("datapoints_to_alarm must be between 1 and evaluation_periods")
        window: dict[str, Any] = {
            "period": period,
            "evaluation_periods": evaluation_periods,
            "datapoints_to_alarm": datapoints_to_alarm,
            "alarm_action": alarm_action,
        }
        where = f"Rolls back SageMaker's in-place update of {endpoint.endpoint_name}"
        self.endpoint_5xx_ratio_alarm = guarded_alarm(
            self,
            "Endpoint5XXRatio",
            value="FILL(e, 0) / n",
            minimum=min_requests,
            metrics=endpoint_5xx_ratio_metrics(endpoint, period),
            label=f"endpoint 5xx ratio, 0 under {min_requests} invocations",
            threshold=max_error_ratio,
            description=f"{where}: more than {max_error_ratio * 100:g}% of the endpoint's "
            f"invocations in a period (with at least {min_requests}) answered 5xx",
            **window,
        )
        self.model_latency_alarm = guarded_alarm(
            self,
            "ModelLatencyP99",
            value="p99",
            minimum=model_latency_min_samples,
            metrics=model_latency_metrics(endpoint, period),
            label=f"p99 ModelLatency (microseconds), 0 under {model_latency_min_samples} samples",
            threshold=model_latency_p99_ms * _MICROSECONDS_PER_MS,
            description=f"{where}: p99 model latency above {model_latency_p99_ms} ms over at "
            f"least {model_latency_min_samples} requests a period",
            **window,
        )
        self.alarms: list[cloudwatch.IAlarm] = [
            self.endpoint_5xx_ratio_alarm,
            self.model_latency_alarm,
        ]
        for alarm in self.alarms:
            endpoint.add_rollback_alarm(alarm)
