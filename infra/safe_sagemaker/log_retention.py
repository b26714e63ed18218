"""CloudWatch Logs retention: config speaks in days, CDK in RetentionDays members.

The table holds member names, not members, so that config validation (and the command-line
tools that load config) never import aws_cdk, which starts a jsii Node process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_cdk import aws_logs as logs

_BY_DAYS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
}

ALLOWED_DAYS = tuple(_BY_DAYS)


def retention_days(days: int) -> logs.RetentionDays:
    from aws_cdk import aws_logs  # noqa: PLC0415 (only synth pays for jsii)

    try:
        member: logs.RetentionDays = getattr(aws_logs.RetentionDays, _BY_DAYS[days])
    except KeyError:
        raise ValueError(
            f"{days} days is not a CloudWatch Logs retention; use one of {ALLOWED_DAYS}"
        ) from None
    return member


# Retentions CDK knows beyond those the environment files may choose.
_LONGER = {
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
_DAYS = {name: days for days, name in (_BY_DAYS | _LONGER).items()}


def days_of(retention: logs.RetentionDays) -> int:
    """The days of a finite ``RetentionDays``; ``INFINITE`` is refused (a kept group's events
    must expire)."""
    try:
        return _DAYS[retention.name]
    except KeyError:
        raise ValueError(f"log retention must be finite, got {retention.name}") from None
