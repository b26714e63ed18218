"""Shared parts of the CodeDeploy pre- and post-traffic hooks (shipped as a Lambda layer)."""

from deployment_hooks_common.clock import Clock, Deadline, SystemClock, wait_until
from deployment_hooks_common.deployment import (
    AliasShift,
    Deployment,
    Endpoints,
    read_deployment,
    resolve_endpoints,
    reverse_shift_summary,
)
from deployment_hooks_common.errors import ConfigError, HandedOverError, HookFailedError
from deployment_hooks_common.lifecycle import (
    FAILED,
    SUCCEEDED,
    HookEvent,
    HookResult,
    run_lifecycle_hook,
)

__all__ = [
    "FAILED",
    "SUCCEEDED",
    "AliasShift",
    "Clock",
    "ConfigError",
    "Deadline",
    "Deployment",
    "Endpoints",
    "HandedOverError",
    "HookEvent",
    "HookFailedError",
    "HookResult",
    "SystemClock",
    "read_deployment",
    "resolve_endpoints",
    "reverse_shift_summary",
    "run_lifecycle_hook",
    "wait_until",
]
