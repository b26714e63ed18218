"""A fake of CodeDeploy's Lambda deployment lifecycle: the simulator's oracle.

It follows AWS's documentation of a Lambda blue/green deployment ("AppSpec 'hooks' section for
an AWS Lambda deployment", "Deployment configurations on an AWS Lambda compute platform",
"Monitoring deployments with CloudWatch alarms"):

1. A deployment starts with the alias entirely on the current version; if an alarm of the
   group is already in ALARM, it stops at once.
2. ``BeforeAllowTraffic`` invokes the pre-traffic hook asynchronously; the lifecycle event
   waits for ``PutLifecycleEventHookExecutionStatus`` up to one hour, then fails.
3. The traffic shift follows the configuration: canary (a share, a wait, then all),
   linear (equal steps with equal waits) or all at once.
4. ``AfterAllowTraffic`` invokes the post-traffic hook, the same way.
5. Alarms are polled for the whole deployment (assumed every ``poll_seconds``; AWS does not
   document the interval); one in ALARM stops the deployment. A stop, a failed or timed-out
   hook rolls back: the alias moves back entirely to the original version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.simulator.template import ShiftPlan

HOOK_TIMEOUT_SECONDS = 3600.0


@dataclass
class Deployment:
    deployment_id: str
    function_name: str
    current_version: str
    target_version: str
    plan: ShiftPlan
    alarm_names: list[str]
    created_at: float
    status: str = "InProgress"  # -> Succeeded | Stopped (rolled back)
    reason: str = ""
    ended_at: float | None = None
    green_share: float = 0.0
    max_green_share: float = 0.0
    pending_hook: tuple[str, str, float] | None = None  # (event, execution id, started)
    hook_results: list[tuple[str, str, float]] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)


class FakeCodeDeploy:
    """Runs one deployment at a time. ``invoke_hook(function, event)`` runs a hook Lambda;
    ``alarm_state(name)`` reads CloudWatch; ``schedule(delay, callback)`` queues work."""

    def __init__(
        self,
        *,
        now: Callable[[], float],
        to_datetime: Callable[[float], datetime],
        schedule: Callable[[float, Callable[[], None]], None],
        invoke_hook: Callable[[str, dict[str, Any]], None],
        alarm_state: Callable[[str], str],
        hooks: dict[str, str],
        poll_seconds: float = 30.0,
        on_shift: Callable[[float], None] = lambda share: None,
    ) -> None:
        self.now, self.to_datetime, self.schedule = now, to_datetime, schedule
        self.invoke_hook, self.alarm_state, self.hooks = invoke_hook, alarm_state, hooks
        self.poll_seconds, self.on_shift = poll_seconds, on_shift
        self.deployment: Deployment | None = None
        self._executions = 0

    # --- the API the hooks call ---------------------------------------------------------------
    def get_deployment(self, deploymentId: str) -> dict[str, Any]:
        deployment = self._the(deploymentId)
        appspec = {
            "version": 0.0,
            "Resources": [
                {
                    "frontend": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": deployment.function_name,
                            "Alias": "live",
                            "CurrentVersion": deployment.current_version,
                            "TargetVersion": deployment.target_version,
                        },
                    }
                }
            ],
        }
        return {
            "deploymentInfo": {
                "deploymentId": deployment.deployment_id,
                "createTime": self.to_datetime(deployment.created_at),
                "revision": {
                    "revisionType": "AppSpecContent",
                    "appSpecContent": {"content": json.dumps(appspec)},
                },
            }
        }

    def put_lifecycle_event_hook_execution_status(
        self,
        deploymentId: str,
        lifecycleEventHookExecutionId: str,
        status: str,
    ) -> dict[str, Any]:
        deployment = self._the(deploymentId)
        pending = deployment.pending_hook
        if pending is None or pending[1] != lifecycleEventHookExecutionId:
            deployment.timeline.append((self.now(), f"late or unknown hook report {status}"))
            return {}
        event, _, _ = pending
        deployment.pending_hook = None
        deployment.hook_results.append((event, status, self.now()))
        self._log(f"{event} reported {status}")
        if deployment.status != "InProgress":
            return {}
        if status != "Succeeded":
            self._roll_back(f"{event} hook reported {status}")
        elif event == "BeforeAllowTraffic":
            self._shift(0)
        else:
            self._finish("Succeeded", "both hooks passed")
        return {}

    # --- the lifecycle ------------------------------------------------------------------------
    def start(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._log(
            f"deployment {deployment.plan.name}: v{deployment.current_version} -> "
            f"v{deployment.target_version}"
        )
        if self._alarm_in_alarm():
            return
        self._poll()
        self._run_hook("BeforeAllowTraffic")

    def _run_hook(self, event: str) -> None:
        deployment = self._current()
        self._executions += 1
        execution_id = f"{event}-{self._executions}"
        deployment.pending_hook = (event, execution_id, self.now())
        self._log(f"{event}: invoking the hook")

        def timeout() -> None:
            if deployment.pending_hook and deployment.pending_hook[1] == execution_id:
                deployment.pending_hook = None
                deployment.hook_results.append((event, "TimedOut", self.now()))
                if deployment.status == "InProgress":
                    self._roll_back(f"{event} hook never reported within an hour")

        self.schedule(HOOK_TIMEOUT_SECONDS, timeout)
        payload = {
            "DeploymentId": deployment.deployment_id,
            "LifecycleEventHookExecutionId": execution_id,
        }
        self.schedule(0.5, lambda: self.invoke_hook(self.hooks[event], payload))

    def _shift(self, step: int) -> None:
        deployment = self._current()
        if deployment.status != "InProgress":
            return
        share, wait = deployment.plan.steps[step]
        deployment.green_share = share
        deployment.max_green_share = max(deployment.max_green_share, share)
        self._log(f"traffic shifted: {share:.0%} on v{deployment.target_version}")
        self.on_shift(share)
        if step + 1 < len(deployment.plan.steps):
            self.schedule(wait, lambda: self._shift(step + 1))
        else:
            self._run_hook("AfterAllowTraffic")

    def _poll(self) -> None:
        deployment = self.deployment
        if deployment is None or deployment.status != "InProgress":
            return
        if not self._alarm_in_alarm():
            self.schedule(self.poll_seconds, self._poll)

    def _alarm_in_alarm(self) -> bool:
        deployment = self._current()
        for name in deployment.alarm_names:
            if self.alarm_state(name) == "ALARM":
                self._roll_back(f"alarm {name} is in ALARM")
                return True
        return False

    def _roll_back(self, reason: str) -> None:
        deployment = self._current()
        deployment.green_share = 0.0
        self._log(f"stopped and rolled back: {reason}")
        self._finish("Stopped", reason)

    def _finish(self, status: str, reason: str) -> None:
        deployment = self._current()
        deployment.status, deployment.reason, deployment.ended_at = status, reason, self.now()

    def _current(self) -> Deployment:
        assert self.deployment is not None
        return self.deployment

    def _the(self, deployment_id: str) -> Deployment:
        deployment = self._current()
        assert deployment.deployment_id == deployment_id, deployment_id
        return deployment

    def _log(self, message: str) -> None:
        self._current().timeline.append((self.now(), message))
