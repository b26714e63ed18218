"""The pure part of the load test: what a step measured, which steps to run, and what rate to
recommend. No clock and no network here, so every rule is unit-tested with made-up steps."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from safe_sagemaker.config import AutoscalingConfig

MAX_ERROR_RATE = 0.01
# A step whose achieved rate falls this far below the offered one did not hold the load, even
# if the requests that made it through were fast.
MIN_ACHIEVED_SHARE = 0.9


@dataclass(frozen=True)
class Step:
    rps_offered: float
    rps_achieved: float
    p50_ms: float | None
    p99_ms: float | None
    error_rate: float
    requests: int

    def as_json(self) -> dict[str, float | int | None]:
        return asdict(self)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(
    rps_offered: float, latencies_ms: Sequence[float], errors: int, elapsed_s: float
) -> Step:
    """A step from its successful requests' latencies, its error count and how long it took
    until the last answer."""
    total = len(latencies_ms) + errors
    return Step(
        rps_offered=round(rps_offered, 2),
        rps_achieved=round(len(latencies_ms) / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        p50_ms=_rounded(percentile(latencies_ms, 0.5)),
        p99_ms=_rounded(percentile(latencies_ms, 0.99)),
        error_rate=round(errors / total, 4) if total else 0.0,
        requests=total,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def holds(step: Step, slo_p99_ms: float) -> bool:
    """The step kept the SLO: p99 within it, errors under 1%, and the rate actually served."""
    return (
        step.p99_ms is not None
        and step.p99_ms <= slo_p99_ms
        and step.error_rate < MAX_ERROR_RATE
        and step.rps_achieved >= MIN_ACHIEVED_SHARE * step.rps_offered
    )


def coarse_rates(max_rps: float, steps: int) -> list[float]:
    """Evenly spaced rates up to ``max_rps``: the first pass of the search."""
    return [max_rps * k / steps for k in range(1, steps + 1)]


def search(
    run_step: Callable[[float], Step],
    *,
    max_rps: float,
    steps: int,
    refinements: int,
    slo_p99_ms: float,
) -> list[Step]:
    """Step the load up until a step breaks the SLO, then bisect between the last step that
    held and the first that did not. At most ``steps + refinements`` steps run, so the test is
    bounded in time and never offers more than ``max_rps``."""
    results: list[Step] = []
    good, bad = 0.0, None
    for rate in coarse_rates(max_rps, steps):
        step = run_step(rate)
        results.append(step)
        if not holds(step, slo_p99_ms):
            bad = rate
            break
        good = rate
    for _ in range(refinements if bad is not None else 0):
        assert bad is not None
        rate = (good + bad) / 2
        step = run_step(rate)
        results.append(step)
        if holds(step, slo_p99_ms):
            good = rate
        else:
            bad = rate
    return results


def max_rps_within_slo(results: Sequence[Step], slo_p99_ms: float) -> float | None:
    held = [s.rps_offered for s in results if holds(s, slo_p99_ms)]
    return max(held) if held else None


@dataclass(frozen=True)
class Recommendation:
    max_requests_per_second: float
    target_invocations_per_instance: int
    safety_factor: float


def recommend(max_rps: float, instances: int, safety_factor: float) -> Recommendation:
    """Per-instance rate, and the target AWS's formula gives for it: the same rule the stacks
    apply to ``autoscaling.max_requests_per_second`` (``AutoscalingConfig.target_value``)."""
    per_instance = round(max_rps / instances, 2)
    scaling = AutoscalingConfig(
        min_capacity=1,
        max_capacity=1,
        max_requests_per_second=per_instance,
        safety_factor=safety_factor,
    )
    return Recommendation(per_instance, scaling.target_value, safety_factor)
