"""Run a lifecycle hook's check and ALWAYS report its outcome to CodeDeploy.

A hook that never reports leaves the deployment waiting for up to an hour and then fails it
anyway; a hook that reports ``Succeeded`` by accident lets a broken model take traffic. So the
status starts as ``Failed`` and only a check that returns normally turns it into ``Succeeded``;
the report is sent from a ``finally`` block whatever happens in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.client import BaseClient

from deployment_hooks_common.errors import HandedOverError, HookFailedError

Status = Literal["Succeeded", "Failed"]
SUCCEEDED: Status = "Succeeded"
FAILED: Status = "Failed"


@dataclass(frozen=True)
class HookEvent:
    """What CodeDeploy passes to a lifecycle hook."""

    deployment_id: str
    execution_id: str

    @classmethod
    def parse(cls, event: Any) -> HookEvent | None:
        if not isinstance(event, Mapping):
            return None
        deployment_id = event.get("DeploymentId")
        execution_id = event.get("LifecycleEventHookExecutionId")
        if not isinstance(deployment_id, str) or not deployment_id:
            return None
        if not isinstance(execution_id, str) or not execution_id:
            return None
        return cls(deployment_id=deployment_id, execution_id=execution_id)


@dataclass(frozen=True)
class HookResult:
    """What the handler returns (for logs and tests; CodeDeploy ignores it)."""

    status: Status | None
    reason: str

    def as_dict(self) -> dict[str, str | None]:
        return {"status": self.status, "reason": self.reason}


def report(codedeploy: BaseClient, hook: HookEvent, status: Status) -> None:
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=hook.deployment_id,
        lifecycleEventHookExecutionId=hook.execution_id,
        status=status,
    )


def run_lifecycle_hook(
    event: Any, *, codedeploy: BaseClient, check: Callable[[HookEvent], str], logger: Logger
) -> HookResult:
    """Parse the event, run ``check`` and report ``Succeeded`` only if it returned.

    ``check`` returns a one-line summary of what it verified; it raises :class:`HookFailedError`
    with the reason when the deployment must stop. Any other exception is a crash: it is logged
    with its traceback and reported as ``Failed`` too. A check that has handed its work
    to another invocation of the hook raises :class:`HandedOverError`: nothing is
    reported. If the event carries no ids there is
    nothing to report to, so the hook logs and returns without raising.

    ``logger`` is the handler's own (parent) Logger: the deployment ids are appended to it so
    every later line carries them.
    """
    hook = HookEvent.parse(event)
    if hook is None:
        logger.error(
            "event lacks DeploymentId or LifecycleEventHookExecutionId; cannot report to "
            "CodeDeploy",
            extra={"event": event if isinstance(event, Mapping) else repr(event)},
        )
        return HookResult(status=None, reason="event lacks the CodeDeploy ids")

    status: Status = FAILED
    reason = "the check did not finish"
    try:
        logger.append_keys(deployment_id=hook.deployment_id, hook_execution_id=hook.execution_id)
        reason = check(hook)
        status = SUCCEEDED
    except HandedOverError as handed_over:
        # Another invocation of this hook carries on and will report; reporting here too
        # would end the lifecycle event early.
        logger.info(f"continuing in another invocation: {handed_over}")
        return HookResult(status=None, reason=str(handed_over))
    except HookFailedError as exc:
        reason = str(exc)
    except Exception as exc:
        reason = f"the hook crashed: {type(exc).__name__}: {exc}"
        logger.exception("hook crashed")
    log = logger.info if status == SUCCEEDED else logger.error
    log(f"reporting {status} to CodeDeploy: {reason}", extra={"status": status})
    try:
        report(codedeploy, hook, status)
    except Exception:
        logger.exception("could not report the lifecycle hook status to CodeDeploy")
        raise
    return HookResult(status=status, reason=reason)
