"""How long a blue/green rollout keeps two fleets, by CodeDeploy Lambda configuration: shared by
``preview`` (expected duration) and ``cost`` (the extra fleet's cost)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from safe_sagemaker.deployment_configs import DEPLOYMENT_CONFIG_NAMES, check_deployment_config

CODEDEPLOY_PREFIX = "CodeDeployDefault.Lambda"
_CANARY = re.compile(r"Canary10Percent(\d+)Minutes?")
_LINEAR = re.compile(r"Linear10PercentEvery(\d+)Minutes?")


def config_name(codedeploy_name: str) -> str:
    """``CodeDeployDefault.LambdaCanary10Percent5Minutes`` -> ``Canary10Percent5Minutes``."""
    return check_deployment_config(codedeploy_name.removeprefix(CODEDEPLOY_PREFIX))


def shift_minutes(name: str) -> float:
    """Minutes from the first traffic on green to all of it: a canary waits its interval once;
    linear moves 10% every interval, so it reaches 100% after nine intervals."""
    if match := _CANARY.fullmatch(name):
        return float(match.group(1))
    if match := _LINEAR.fullmatch(name):
        return 9.0 * int(match.group(1))
    return 0.0


@dataclass(frozen=True)
class RolloutTime:
    """Minutes green runs beside blue: created and checked by the pre-traffic hook, shifted, then
    watched by the post-traffic hook (at most its metrics wait)."""

    strategy: str
    create_minutes: float
    shift_minutes: float
    post_hook_minutes: float

    @property
    def total_minutes(self) -> float:
        return self.create_minutes + self.shift_minutes + self.post_hook_minutes


def rollout_time(strategy: str, metrics_wait_seconds: int, create_minutes: float) -> RolloutTime:
    return RolloutTime(
        strategy=strategy,
        create_minutes=create_minutes,
        shift_minutes=shift_minutes(check_deployment_config(strategy)),
        post_hook_minutes=metrics_wait_seconds / 60,
    )


def every_strategy(metrics_wait_seconds: int, create_minutes: float) -> list[RolloutTime]:
    return [rollout_time(n, metrics_wait_seconds, create_minutes) for n in DEPLOYMENT_CONFIG_NAMES]
