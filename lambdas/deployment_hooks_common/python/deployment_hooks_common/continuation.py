"""Waits longer than one Lambda run: a hook hands its work to a new invocation of itself.

A Lambda function runs at most 15 minutes, a CodeDeploy lifecycle hook may take up to an hour
(then CodeDeploy fails it). A big or GPU fleet can take longer than 15 minutes to scale out, so
a hook that is still waiting when its run ends invokes itself again, asynchronously, with the
CodeDeploy event plus a ``Continuation``: when the hook first started and what it had done.
The last invocation reports to CodeDeploy; the ones before it report nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from botocore.client import BaseClient

from deployment_hooks_common.clock import Clock, Deadline
from deployment_hooks_common.errors import HandedOverError, HookFailedError

CONTINUATION_KEY = "Continuation"
# CodeDeploy fails a lifecycle hook that has not reported after one hour; stop waiting with
# room to spare for the last run's own work and report.
DEFAULT_MAX_HOOK_SECONDS = 3300.0
# A new run is worth starting only with at least this much of the hook's time left.
MIN_ROUND_SECONDS = 60.0


@dataclass(frozen=True)
class Continuation:
    """Where a hook's work stands across invocations."""

    started_at: datetime
    round: int = 1
    state: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any], clock: Clock) -> Continuation:
        raw = event.get(CONTINUATION_KEY)
        if raw is None:
            return cls(started_at=clock.now())
        try:
            return cls(
                started_at=datetime.fromisoformat(raw["startedAt"]),
                round=int(raw["round"]),
                state=dict(raw.get("state") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HookFailedError(f"unusable {CONTINUATION_KEY} in the event: {exc}") from None

    def total_deadline(self, clock: Clock, max_hook_seconds: float) -> Deadline:
        """When the hook as a whole must stop waiting, on ``clock.monotonic()``."""
        ends = self.started_at + timedelta(seconds=max_hook_seconds)
        return Deadline(clock=clock, at=clock.monotonic() + (ends - clock.now()).total_seconds())

    def as_json(self) -> dict[str, Any]:
        return {"startedAt": self.started_at.isoformat(), "round": self.round, "state": self.state}


def hand_over(
    lambda_client: BaseClient,
    *,
    function_arn: str,
    event: Mapping[str, Any],
    continuation: Continuation,
    state: Mapping[str, Any],
    reason: str,
) -> NoReturn:
    """Invoke this hook again (asynchronously) to continue after ``continuation``, then raise
    ``HandedOverError`` so this run reports nothing. If the invoke fails, the error propagates
    and this run reports ``Failed``."""
    following = Continuation(
        started_at=continuation.started_at, round=continuation.round + 1, state=dict(state)
    )
    payload = {**event, CONTINUATION_KEY: following.as_json()}
    lambda_client.invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
    )
    raise HandedOverError(f"{reason}; round {following.round} continues")
