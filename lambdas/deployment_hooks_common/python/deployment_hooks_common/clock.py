"""Time, injectable: the hooks never call ``time`` directly, so tests run without real sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the hooks need from time: a monotonic reading, a wall-clock reading, a sleep."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """The moment (on ``clock.monotonic()``) after which a hook must stop waiting.

    It is the Lambda's own end minus a safety margin, so there is always time left to restore
    state and report to CodeDeploy before the runtime kills the function.
    """

    clock: Clock
    at: float

    @classmethod
    def from_context(
        cls, context: LambdaContextLike, clock: Clock, safety_margin_seconds: float
    ) -> Deadline:
        remaining = context.get_remaining_time_in_millis() / 1000.0
        return cls(clock=clock, at=clock.monotonic() + remaining - safety_margin_seconds)

    def remaining(self) -> float:
        return self.at - self.clock.monotonic()

    def sooner(self, seconds: float) -> Deadline:
        """This deadline or ``seconds`` from now, whichever comes first."""
        return Deadline(clock=self.clock, at=min(self.at, self.clock.monotonic() + seconds))

    def later_by(self, seconds: float) -> Deadline:
        """This deadline moved ``seconds`` later (e.g. into the margin kept for the report)."""
        return Deadline(clock=self.clock, at=self.at + seconds)

    def earlier_by(self, seconds: float) -> Deadline:
        """This deadline moved ``seconds`` earlier, to keep time for work that comes after."""
        return Deadline(clock=self.clock, at=self.at - seconds)


def wait_until(condition: Callable[[], bool], *, deadline: Deadline, interval: float) -> bool:
    """Evaluate ``condition`` until it holds (True) or ``deadline`` passes (False).

    The condition is evaluated once more at the deadline itself; it may raise to stop at once.
    """
    while True:
        if condition():
            return True
        remaining = deadline.remaining()
        if remaining <= 0:
            return False
        deadline.clock.sleep(min(interval, remaining))
