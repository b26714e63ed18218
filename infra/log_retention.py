"""CloudWatch Logs retention: config speaks in days, CDK in RetentionDays members."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
}

ALLOWED_DAYS = tuple(_BY_DAYS)


def retention_days(days: int) -> logs.RetentionDays:
    try:
        return _BY_DAYS[days]
    except KeyError:
        raise ValueError(
            f"{days} days is not a CloudWatch Logs retention; use one of {ALLOWED_DAYS}"
        ) from None


# Retentions CDK knows beyond those the environment files may choose.
_LONGER = {
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
_DAYS = {member: days for days, member in (_BY_DAYS | _LONGER).items()}


def days_of(retention: logs.RetentionDays) -> int:
    """The days of a finite ``RetentionDays``; ``INFINITE`` is refused (a kept group's events
    must expire)."""
    try:
        return _DAYS[retention]
    except KeyError:
        raise ValueError(f"log retention must be finite, got {retention.name}") from None
