"""boto3 clients whose every call fits in the time a hook has left.

A hook must report to CodeDeploy before its Lambda times out, or CodeDeploy waits up to an hour
for a status that never comes. botocore's own bounds are per attempt: with 3 attempts, a 10 s
read timeout, a 3 s connect timeout and back-off, one hung call takes about 42 s, more than the
margin a hook keeps for its report. So each call is made on a client whose timeouts and
attempts are derived from the time left (``call_budget``): early in a run that is the default,
near the end fewer attempts and shorter timeouts, and with no time left the call is not made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from deployment_hooks_common.clock import Deadline
from deployment_hooks_common.errors import HookFailedError

CONNECT_TIMEOUT_SECONDS = 3.0
# Control-plane calls (CodeDeploy, SageMaker, Lambda configuration, CloudWatch) answer in well
# under a second; 10 s bounds a stuck connection without cutting off a slow but healthy answer.
CONTROL_PLANE_READ_TIMEOUT_SECONDS = 10.0
MAX_ATTEMPTS = 3
# Shortest attempt worth making: a second to connect, a second to read.
MIN_ATTEMPT_SECONDS = 2.0

ClientFactory = Callable[..., Any]


class TimeLeft(Protocol):
    def remaining(self) -> float: ...


@dataclass(frozen=True)
class CallBudget:
    """How one call may spend its time: per-attempt timeouts and the number of attempts."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @property
    def worst_case_seconds(self) -> float:
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + _backoff(
            self.max_attempts
        )


def _backoff(attempts: int) -> float:
    """The longest total back-off of botocore's standard retry mode before the last attempt
    (a random share of 1 s, 2 s, 4 s ... between attempts)."""
    return float(sum(2**retry for retry in range(attempts - 1)))


def call_budget(seconds_left: float | None, read_timeout: float) -> CallBudget:
    """The most generous timeouts and attempts whose worst case fits in ``seconds_left``.

    ``None`` means no deadline is known: the defaults. Raises ``HookFailedError`` when not even
    one short attempt fits.
    """
    default = CallBudget(CONNECT_TIMEOUT_SECONDS, read_timeout, MAX_ATTEMPTS)
    if seconds_left is None or default.worst_case_seconds <= seconds_left:
        return default
    for attempts in range(MAX_ATTEMPTS, 0, -1):
        per_attempt = (seconds_left - _backoff(attempts)) / attempts
        if per_attempt >= MIN_ATTEMPT_SECONDS:
            connect = min(CONNECT_TIMEOUT_SECONDS, per_attempt / 4)
            return CallBudget(connect, min(read_timeout, per_attempt - connect), attempts)
    raise HookFailedError(
        f"only {max(seconds_left, 0.0):.1f} s left before the hook must report: not enough for "
        "another AWS call"
    )


def _round_down(seconds: float) -> float:
    """Whole seconds, or tenths below one second: few distinct clients, none too generous."""
    return float(int(seconds)) if seconds >= 1 else int(seconds * 10) / 10


def client_config(budget: CallBudget) -> Config:
    return Config(
        connect_timeout=budget.connect_timeout,
        read_timeout=budget.read_timeout,
        retries={"mode": "standard", "max_attempts": budget.max_attempts},
    )


def _boto3_client(service_name: str, *, config: Config) -> BaseClient:
    return boto3.client(service_name, config=config)


class TimeBoxedClient:
    """Stands in for a boto3 client: ``client.describe_endpoint(...)`` runs on a client whose
    ``call_budget`` fits the bound deadline (``bind``); without one, the defaults apply.

    Clients are cached per budget, rounded down to whole seconds, so a run creates a handful.
    """

    def __init__(
        self,
        service_name: str,
        *,
        read_timeout: float = CONTROL_PLANE_READ_TIMEOUT_SECONDS,
        factory: ClientFactory = _boto3_client,
    ) -> None:
        self.service_name = service_name
        self.read_timeout = read_timeout
        self.factory = factory
        self.deadline: TimeLeft | None = None
        self._clients: dict[tuple[float, float, int], Any] = {}

    def bind(self, deadline: TimeLeft | None) -> None:
        """Fit every later call into the time ``deadline`` leaves."""
        self.deadline = deadline

    def current_budget(self) -> CallBudget:
        seconds_left = None if self.deadline is None else self.deadline.remaining()
        budget = call_budget(seconds_left, self.read_timeout)
        return CallBudget(
            # Rounded down (never up), so a cached client never exceeds the time left.
            connect_timeout=_round_down(budget.connect_timeout),
            read_timeout=_round_down(budget.read_timeout),
            max_attempts=budget.max_attempts,
        )

    def __getattr__(self, name: str) -> Any:
        budget = self.current_budget()
        key = (budget.connect_timeout, budget.read_timeout, budget.max_attempts)
        client = self._clients.get(key)
        if client is None:
            client = self.factory(self.service_name, config=client_config(budget))
            self._clients[key] = client
        return getattr(client, name)


def client(
    service_name: str, read_timeout: float = CONTROL_PLANE_READ_TIMEOUT_SECONDS
) -> TimeBoxedClient:
    return TimeBoxedClient(service_name, read_timeout=read_timeout)


# Seconds of the report margin kept even from the report: the runtime's own shutdown.
REPORT_SLACK_SECONDS = 2.0


def bind_deadlines(clients: object, deadline: Deadline, *, report_margin: float) -> None:
    """Bind every ``TimeBoxedClient`` field of the ``clients`` dataclass to ``deadline``, and
    the ``codedeploy`` one to the end of the report margin after it: the status report is the
    one call that must still be made once the checks' time is up."""
    for item in dataclasses.fields(clients):  # type: ignore[arg-type]
        value = getattr(clients, item.name)
        if not isinstance(value, TimeBoxedClient):
            continue  # a test's stubbed client
        if item.name == "codedeploy":
            value.bind(deadline.later_by(report_margin - REPORT_SLACK_SECONDS))
        else:
            value.bind(deadline)
