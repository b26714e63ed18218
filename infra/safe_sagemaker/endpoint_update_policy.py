"""SageMaker deployment guardrails (endpoint-native blue/green and rolling updates): the update
policy of one endpoint and SageMaker's documented rules for it, shared by the config validation
and ``ModelEndpoint`` so that the two cannot disagree.

Sources (SageMaker API reference and developer guide): ``TrafficRoutingConfig`` (a canary is at
most 50% of the variant's instances, a linear step 10-50%, a wait 0-3600 s),
``RollingUpdatePolicy`` (a batch 5-50%), ``BlueGreenUpdatePolicy`` (termination wait 0-3600 s,
maximum execution timeout 600-28800 s and larger than the waits), "Exclusions" of deployment
guardrails (Marketplace containers and Inf1 instances fall back to all-at-once without a bake;
rolling updates exclude serverless and multi-variant endpoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

CapacityType = Literal["CAPACITY_PERCENT", "INSTANCE_COUNT"]
Mode = Literal["canary", "linear", "all-at-once", "rolling"]
MODES: tuple[Mode, ...] = ("canary", "linear", "all-at-once", "rolling")

MAX_WAIT_SECONDS = 3600
MIN_EXECUTION_TIMEOUT_SECONDS = 600
MAX_EXECUTION_TIMEOUT_SECONDS = 28800
# AutoRollbackConfig takes 1-10 alarms.
MAX_ROLLBACK_ALARMS = 10
# Instance families with which SageMaker ignores the guardrails (all at once, no bake).
EXCLUDED_FAMILIES = frozenset({"inf1"})

# What share of the variant's instances each sized step may be, in percent (documented bounds).
_STEP_BOUNDS: dict[str, tuple[int, int]] = {
    "canary_size": (1, 50),
    "linear_step_size": (10, 50),
    "maximum_batch_size": (5, 50),
    "rollback_maximum_batch_size": (1, 100),
}


class PolicyError(ValueError):
    """A rule of SageMaker's broken by one field of the policy (``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# The field that sizes each mode's steps.
_SIZE_FIELD: dict[str, str] = {
    "canary": "canary_size",
    "linear": "linear_step_size",
    "rolling": "maximum_batch_size",
}


@dataclass(frozen=True)
class CapacitySize:
    """A step of an update in SageMaker's terms: a percent of the variant's instances or a
    number of instances."""

    type: CapacityType
    value: int

    def __post_init__(self) -> None:
        if self.type not in ("CAPACITY_PERCENT", "INSTANCE_COUNT"):
            raise ValueError(f"type must be CAPACITY_PERCENT or INSTANCE_COUNT, not {self.type!r}")
        if self.value < 1:
            raise ValueError(f"value must be at least 1, not {self.value}")

    def instances(self, fleet: int) -> int:
        """Instances this step turns on in a fleet of ``fleet``: whole instances, at least one
        (SageMaker does not document its rounding; a step cannot be less than an instance)."""
        if self.type == "INSTANCE_COUNT":
            return self.value
        return max(1, math.ceil(fleet * self.value / 100))

    def describe(self) -> str:
        unit = "%" if self.type == "CAPACITY_PERCENT" else " instance(s)"
        return f"{self.value}{unit}"


def check_step(field: str, size: CapacitySize, *, smallest: int, largest: int) -> None:
    """Raise PolicyError unless ``size`` (the policy's ``field``) fits SageMaker's bounds for
    every fleet from ``smallest`` to ``largest`` instances."""
    low, high = _STEP_BOUNDS[field]
    if size.type == "CAPACITY_PERCENT" and not low <= size.value <= high:
        raise PolicyError(
            field,
            f"{field} is {size.value}% but SageMaker allows {low}-{high}% of the variant's "
            "instances",
        )
    if field == "rollback_maximum_batch_size":
        return
    if smallest < 2:
        # A step is at least one instance: on one instance it is the whole fleet.
        raise PolicyError(
            field,
            f"{field} {size.describe()} of {smallest} instance(s) is the whole fleet (a step "
            "is at least one instance); run at least 2 instances (initial_instance_count "
            "and autoscaling.min_capacity) or use mode all-at-once",
        )
    if size.type == "CAPACITY_PERCENT":
        return
    if size.value * 2 > smallest:
        raise PolicyError(
            field,
            f"{field} of {size.value} instance(s) is over half of the smallest fleet "
            f"({smallest}); SageMaker allows at most {high}% of the variant's instances: "
            f"lower it to {smallest // 2} or run more instances",
        )
    if size.value * 100 < low * largest:
        raise PolicyError(
            field,
            f"{field} of {size.value} instance(s) is under {low}% of the largest fleet "
            f"({largest}); raise it to {math.ceil(low * largest / 100)} or use CAPACITY_PERCENT",
        )


@dataclass(frozen=True)
class EndpointUpdatePolicy:
    """How SageMaker updates an endpoint in place to a new endpoint config.

    ``mode``: ``canary`` (``canary_size``, then the rest), ``linear`` (``linear_step_size`` at a
    time), ``all-at-once`` (blue/green, one step), or ``rolling`` (``maximum_batch_size``
    instances replaced at a time; ``rollback_maximum_batch_size`` on the way back, default all at
    once). Every step is followed by a bake of ``wait_interval_seconds`` while the rollback
    alarms watch. ``termination_wait_seconds``: blue/green only, how long blue is kept after the
    last step. ``maximum_execution_timeout_seconds``: SageMaker's limit for the whole update
    (default: SageMaker's own).
    """

    mode: Mode
    wait_interval_seconds: int
    canary_size: CapacitySize | None = None
    linear_step_size: CapacitySize | None = None
    maximum_batch_size: CapacitySize | None = None
    rollback_maximum_batch_size: CapacitySize | None = None
    termination_wait_seconds: int | None = None
    maximum_execution_timeout_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PolicyError("mode", f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        required = _SIZE_FIELD.get(self.mode)
        if required is not None and getattr(self, required) is None:
            raise PolicyError(required, f"mode {self.mode} needs {required}")
        allowed = {required} if required else set()
        if self.mode == "rolling":
            allowed.add("rollback_maximum_batch_size")
        for name in (*_STEP_BOUNDS, "termination_wait_seconds"):
            if name == "termination_wait_seconds" and self.mode != "rolling":
                continue
            if name not in allowed and getattr(self, name) is not None:
                raise PolicyError(name, f"{name} does not apply to mode {self.mode}; remove it")
        if not 0 <= self.wait_interval_seconds <= MAX_WAIT_SECONDS:
            raise PolicyError(
                "wait_interval_seconds", f"wait_interval_seconds must be 0-{MAX_WAIT_SECONDS}"
            )
        termination = self.termination_wait_seconds
        if termination is not None and not 0 <= termination <= MAX_WAIT_SECONDS:
            raise PolicyError(
                "termination_wait_seconds",
                f"termination_wait_seconds must be 0-{MAX_WAIT_SECONDS}",
            )
        timeout = self.maximum_execution_timeout_seconds
        if timeout is not None and not (
            MIN_EXECUTION_TIMEOUT_SECONDS <= timeout <= MAX_EXECUTION_TIMEOUT_SECONDS
        ):
            raise PolicyError(
                "maximum_execution_timeout_seconds",
                f"maximum_execution_timeout_seconds must be {MIN_EXECUTION_TIMEOUT_SECONDS}-"
                f"{MAX_EXECUTION_TIMEOUT_SECONDS}",
            )

    @property
    def sized_steps(self) -> dict[str, CapacitySize]:
        """The step sizes this policy sets, by field name."""
        return {name: size for name in _STEP_BOUNDS if (size := getattr(self, name)) is not None}

    def steps(self, fleet: int) -> int:
        """Traffic steps (each followed by a bake) of a successful update of ``fleet`` instances."""
        if self.mode == "all-at-once":
            return 1
        if self.mode == "canary":
            return 2
        size = getattr(self, _SIZE_FIELD[self.mode])
        return math.ceil(max(fleet, 1) / size.instances(fleet))

    def baking_seconds(self, fleet: int) -> int:
        """Time a successful update spends baking and waiting to end blue, beyond provisioning:
        one bake after each step, then the termination wait."""
        return self.steps(fleet) * self.wait_interval_seconds + (self.termination_wait_seconds or 0)

    def first_step_share(self, fleet: int) -> float:
        """The share of traffic the new model gets in the first step (1.0: all of it), counting
        whole instances."""
        field = _SIZE_FIELD.get(self.mode)
        size = None if field is None else getattr(self, field)
        if size is None or fleet < 1:
            return 1.0
        return min(1.0, size.instances(fleet) / fleet)

    def check_fleet(self, *, smallest: int, largest: int, serverless: bool) -> None:
        """SageMaker's rules that depend on the fleet: step sizes, serverless, the timeout."""
        if serverless and self.mode != "all-at-once":
            raise PolicyError(
                "mode",
                f"mode {self.mode} sizes its steps in instances, and a serverless endpoint has "
                "none (SageMaker also excludes serverless endpoints from rolling updates); use "
                "mode all-at-once or host the model on instances",
            )
        for name, size in self.sized_steps.items():
            check_step(name, size, smallest=smallest, largest=largest)
        timeout = self.maximum_execution_timeout_seconds
        waits = self.baking_seconds(largest)
        if timeout is not None and timeout <= waits:
            raise PolicyError(
                "maximum_execution_timeout_seconds",
                f"maximum_execution_timeout_seconds ({timeout}) must be larger than the "
                f"update's waits ({waits} s for {largest} instance(s)), or no update could "
                "succeed; raise it or shorten wait_interval_seconds",
            )
