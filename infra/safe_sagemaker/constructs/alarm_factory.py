"""One way to make a threshold alarm and route it, shared by every alarm construct."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
    comparison_operator: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    ),
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    alarm_action: cloudwatch.IAlarmAction | None = None,
    notify_ok: bool = False,
    alarm_name: str | None = None,
) -> cloudwatch.Alarm:
    """A ``cloudwatch.Alarm`` named ``construct_id`` under ``scope``.

    :param metric: the metric watched.
    :param threshold: the value compared with the metric.
    :param description: the alarm description (what breached, and where to look).
    :param evaluation_periods: periods evaluated. Default: 1.
    :param datapoints_to_alarm: breaching periods among them that raise the alarm.
        Default: all of ``evaluation_periods``.
    :param comparison_operator: Default: greater than the threshold.
    :param treat_missing_data: Default: not breaching (metrics published only on traffic).
    :param alarm_action: where the ALARM transition goes. Default: nowhere.
    :param notify_ok: also send the OK transition to ``alarm_action``. Default: false.
    :param alarm_name: Default: a name CloudFormation generates from the logical id.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison_operator,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=treat_missing_data,
        alarm_description=description,
        alarm_name=alarm_name,
    )
    if alarm_action is not None:
        alarm.add_alarm_action(alarm_action)
        if notify_ok:
            alarm.add_ok_action(alarm_action)
    return alarm


def guarded_alarm(
    scope: Construct,
    construct_id: str,
    *,
    value: str,
    minimum: int,
    metrics: Mapping[str, cloudwatch.IMetric],
    label: str,
    period: Duration,
    threshold: float,
    description: str,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int = 1,
    alarm_action: cloudwatch.IAlarmAction | None = None,
    alarm_name: str | None = None,
) -> cloudwatch.Alarm:
    """A ``threshold_alarm`` on the math expression ``value``, judged only in periods where the
    metric ``n`` reaches ``minimum`` (the alarm sees 0 otherwise): a ratio or a percentile over
    a handful of requests decides nothing.

    :param value: the expression judged, over the ids of ``metrics`` (e.g. ``FILL(e, 0) / n``).
    :param minimum: the least ``n`` a period for ``value`` to count.
    :param metrics: the metrics by expression id; one of them is ``n``.
    :param label: the expression's label.
    :param period: the expression's period.
    Others: as ``threshold_alarm``.
    """
    return threshold_alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        metric=cloudwatch.MathExpression(
            expression=f"IF(n >= {minimum}, {value}, 0)",
            using_metrics=dict(metrics),
            label=label,
            period=period,
        ),
        threshold=threshold,
        description=description,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        alarm_action=alarm_action,
    )
