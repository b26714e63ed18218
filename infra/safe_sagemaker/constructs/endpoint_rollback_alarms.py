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

    They watch the new fleet only: SageMaker publishes a fleet's metrics with its endpoint
    config's name (dimension ``EndpointConfigName``, as in AWS's guardrails example of an alarm
    on the new fleet), and each alarm names the endpoint config this version deploys. So the old
    fleet's errors never stop an update, and an update that fixes a failing model can go
    through. The alarms stay across model versions (a model change replaces nothing but the
    Model and the EndpointConfig): an update changes their dimension in place, and with no data
    yet for the new fleet they evaluate as not breaching (``TreatMissingData``) rather than
    keep an old ALARM.

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
        # The fleet this version's endpoint config runs (its name changes with every version).
        fleet = endpoint.endpoint_config.attr_endpoint_config_name
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
            """A guarded alarm (``alarm_factory.guarded_alarm``) named after the endpoint: the
            execution role may describe it by that name, without a reference that would make
            the role wait for the alarm, which waits for the endpoint config."""
            return guarded_alarm(
                self,
                construct_id,
                alarm_name=f"{endpoint.endpoint_name}-rollback-{check}",
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
            fleet="new fleet",
            invocations="the new fleet's invocations",
            fleet_config=fleet,
        )
        self.model_latency_alarm = model_latency_alarm(
            guarded,
            endpoint,
            period=period,
            model_latency_p99_ms=model_latency_p99_ms,
            model_latency_min_samples=model_latency_min_samples,
            latency="new fleet p99 model latency",
            fleet_config=fleet,
        )
        self.alarms: list[cloudwatch.IAlarm] = [
            self.endpoint_5xx_ratio_alarm,
            self.model_latency_alarm,
        ]
        for alarm in self.alarms:
            endpoint.add_rollback_alarm(alarm)
