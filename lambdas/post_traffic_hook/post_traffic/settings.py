"""The post-traffic hook's settings: its environment variables, validated at each run."""

from __future__ import annotations

from dataclasses import dataclass

from deployment_hooks_common.settings import (
    Env,
    float_or_default,
    int_or_default,
    optional_int,
    optional_str,
    require_str,
)

DEFAULT_MIN_INVOCATIONS = 1
DEFAULT_MAX_5XX_RATIO = 0.01
DEFAULT_METRICS_WAIT_SECONDS = 300.0
DEFAULT_METRICS_POLL_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    variant_name: str
    min_invocations: int
    max_5xx_ratio: float
    restore_min_capacity: int | None
    metrics_wait_seconds: float
    metrics_poll_seconds: float
    model_name: str | None = None
    metrics_namespace: str | None = None

    @classmethod
    def from_env(cls, env: Env) -> Settings:
        return cls(
            variant_name=require_str(env, "VARIANT_NAME"),
            min_invocations=int_or_default(
                env, "MIN_INVOCATIONS", DEFAULT_MIN_INVOCATIONS, minimum=1
            ),
            max_5xx_ratio=float_or_default(env, "MAX_5XX_RATIO", DEFAULT_MAX_5XX_RATIO),
            restore_min_capacity=optional_int(env, "AUTOSCALING_MIN_CAPACITY", minimum=0),
            metrics_wait_seconds=float_or_default(
                env, "METRICS_WAIT_SECONDS", DEFAULT_METRICS_WAIT_SECONDS
            ),
            metrics_poll_seconds=float_or_default(
                env, "METRICS_POLL_SECONDS", DEFAULT_METRICS_POLL_SECONDS, minimum=1.0
            ),
            model_name=optional_str(env, "MODEL_NAME"),
            metrics_namespace=optional_str(env, "METRICS_NAMESPACE"),
        )
