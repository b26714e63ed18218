"""The alarms SageMaker watches while it updates an endpoint in place (deployment guardrails)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from safe_sagemaker.constructs.alarm_factory import guarded_alarm
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.constructs.rollback_alarms import (
    DEFAULT_MAX_ERROR_RATIO,
    DEFAULT_MIN_REQUESTS,
    DEFAULT_MODEL_LATENCY_MIN_SAMPLES,
    check_thresholds,
    endpoint_5xx_ratio_alarm,
    model_latency_alarm,
)


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
        check_thresholds(
            max_error_ratio=max_error_ratio,
            min_requests=min_requests,
            model_latency_p99_ms=model_latency_p99_ms,
            model_latency_min_samples=model_latency_min_samples,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
        )

        def guarded(
            construct_id: str, check: str, *, description: str, **props: Any
        ) -> cloudwatch.Alarm:
            """A guarded alarm (``alarm_factory.guarded_alarm``) with CloudFormation's name."""
            return guarded_alarm(
                self,
                construct_id,
                period=period,
                description=f"Rolls back SageMaker's in-place update of "
                f"{endpoint.endpoint_name}: {description}",
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                alarm_action=alarm_action,
                **props,
            )

        self.endpoint_5xx_ratio_alarm = endpoint_5xx_ratio_alarm(
            guarded,
            endpoint,
            period=period,
            max_error_ratio=max_error_ratio,
            min_requests=min_requests,
            fleet="endpoint",
            invocations="the endpoint's invocations",
        )
        self.model_latency_alarm = model_latency_alarm(
            guarded,
            endpoint,
            period=period,
            model_latency_p99_ms=model_latency_p99_ms,
            model_latency_min_samples=model_latency_min_samples,
            latency="p99 model latency",
        )
        self.alarms: list[cloudwatch.IAlarm] = [
            self.endpoint_5xx_ratio_alarm,
            self.model_latency_alarm,
        ]
        for alarm in self.alarms:
            endpoint.add_rollback_alarm(alarm)
