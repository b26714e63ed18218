"""``Duration`` values made and read once per process.

A ``Duration`` is an immutable value, but making one and reading it back (``to_seconds``) are a
jsii round trip each; a stack with many models asks for the same few values again and again.
"""

from __future__ import annotations

from functools import cache

from aws_cdk import Duration

_SECONDS: dict[int, tuple[Duration, float]] = {}


@cache
def seconds(amount: int) -> Duration:
    """``Duration.seconds(amount)``, one shared object per amount."""
    return Duration.seconds(amount)


@cache
def minutes(amount: int) -> Duration:
    """``Duration.minutes(amount)``, one shared object per amount."""
    return Duration.minutes(amount)


def to_seconds(duration: Duration) -> float:
    """``duration.to_seconds()``, asked of CDK once per ``Duration`` object."""
    known = _SECONDS.get(id(duration))
    if known is None or known[0] is not duration:
        known = _SECONDS[id(duration)] = (duration, duration.to_seconds())
    return known[1]
