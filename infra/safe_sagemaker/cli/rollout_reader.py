"""Reads one model's rollout from AWS: CodeDeploy (deployment, hooks), Lambda (the weights of
``live``) and CloudWatch (the rollback alarms). Shared by ``watch`` and ``drill``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from safe_sagemaker.cli.context import Context
from safe_sagemaker.cli.http import ApiCaller
from safe_sagemaker.cli.rollout_state import RolloutTarget, Snapshot, Tally, alias_weights, newest


class RolloutReader:
    def __init__(self, context: Context, target: RolloutTarget) -> None:
        self.target = target
        self._codedeploy = context.client("codedeploy")
        self._lambda = context.client("lambda")
        self._cloudwatch = context.client("cloudwatch")
        # The newest deployment seen so far: later polls need only what was created since.
        self._newest: dict[str, Any] | None = None

    def latest_deployment(self, created_after: datetime | None = None) -> dict[str, Any] | None:
        """The group's newest deployment (created after ``created_after``, if given).
        ListDeployments documents no order and pages its answer, and BatchGetDeployments takes
        25 ids: every page is read, in batches, and the newest taken by its creation time."""
        seen = self._newest["createTime"] if self._newest is not None else None
        since = max((t for t in (created_after, seen) if t is not None), default=None)
        arguments: dict[str, Any] = {
            "applicationName": self.target.application,
            "deploymentGroupName": self.target.deployment_group,
        }
        if since is not None:
            arguments["createTimeRange"] = {"start": since}
        pages = self._codedeploy.get_paginator("list_deployments").paginate(**arguments)
        ids = [deployment_id for page in pages for deployment_id in page["deployments"]]
        found = []
        for start in range(0, len(ids), 25):
            batch = ids[start : start + 25]
            found += self._codedeploy.batch_get_deployments(deploymentIds=batch)["deploymentsInfo"]
        if not found and self._newest is not None:
            # The range's start is exclusive somewhere: the newest one, read again (its status).
            found = [self._get(self._newest["deploymentId"])]
        if created_after is not None:
            found = [d for d in found if d["createTime"] >= created_after]
        latest = newest(found)
        if latest is not None:
            self._newest = latest
        return latest

    def _get(self, deployment_id: str) -> dict[str, Any]:
        info: dict[str, Any] = self._codedeploy.get_deployment(deploymentId=deployment_id)[
            "deploymentInfo"
        ]
        return info

    def hooks(self, deployment_id: str) -> list[tuple[str, str]]:
        """Lifecycle events of the deployment's Lambda target (BeforeAllowTraffic, ...)."""
        try:
            ids = self._codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
            if not ids:
                return []
            targets = self._codedeploy.batch_get_deployment_targets(
                deploymentId=deployment_id, targetIds=ids
            )["deploymentTargets"]
        except (ClientError, NotImplementedError):
            return []  # not there yet (or not offered by an emulator): shown as unknown
        events = [
            event
            for target in targets
            for event in target.get("lambdaTarget", {}).get("lifecycleEvents", [])
        ]
        return [(e["lifecycleEventName"], e.get("status", "?")) for e in events]

    def alarm_states(self) -> dict[str, str]:
        if not self.target.alarms:
            return {}
        found = self._cloudwatch.describe_alarms(AlarmNames=list(self.target.alarms))
        return {alarm["AlarmName"]: alarm["StateValue"] for alarm in found["MetricAlarms"]}

    def weights(self) -> dict[str, float]:
        if self.target.function is None or self.target.alias is None:
            return {}
        alias = self._lambda.get_alias(FunctionName=self.target.function, Name=self.target.alias)
        return alias_weights(alias)

    def snapshot(self, deployment_id: str | None, created_after: datetime | None) -> Snapshot:
        if deployment_id is None:
            deployment = self.latest_deployment(created_after)
        else:
            deployment = self._get(deployment_id)
        view = Snapshot(weights=self.weights(), alarms=self.alarm_states())
        if deployment is not None:
            view.deployment_id = deployment["deploymentId"]
            view.status = deployment["status"]
            view.error = deployment.get("errorInformation", {}).get("message")
            view.hooks = self.hooks(view.deployment_id)
        return view


def follow(
    read: Callable[[], Snapshot],
    *,
    interval: float,
    timeout: float,
    on_snapshot: Callable[[Snapshot], None],
    give_up: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Snapshot:
    """Read until the deployment ends, ``timeout`` seconds pass or ``give_up()`` (checked
    before each read, so the last read still happens); the last snapshot."""
    deadline = clock() + timeout
    while True:
        stopping = give_up()
        snapshot = read()
        on_snapshot(snapshot)
        if snapshot.outcome is not None or stopping or clock() >= deadline:
            return snapshot
        sleep(interval)


class RequestStream(threading.Thread):
    """Up to ``limit`` requests at ``rate`` a second to the model's URL, in the background,
    tallied by the endpoint that answered (``x-sagemaker-endpoint``)."""

    def __init__(
        self, caller: ApiCaller, url: str, body: bytes, content_type: str, rate: float, limit: int
    ) -> None:
        super().__init__(name="watch-requests", daemon=True)
        self.tally = Tally()
        self._caller = caller
        self._url = url
        self._body = body
        self._content_type = content_type
        self._interval = 1 / rate
        self._limit = limit
        self._stop = threading.Event()

    def run(self) -> None:
        for _ in range(self._limit):
            if self._stop.is_set():
                return
            started = time.monotonic()
            try:
                answer = self._caller.post(self._url, self._body, self._content_type)
                self.tally.record(answer.endpoint, 200 <= answer.status < 300)
            except Exception:  # a failed request is data for the error rate, not a crash
                self.tally.record(None, False)
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
