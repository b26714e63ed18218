"""The pure part of ``watch`` (and ``drill``): what a CodeDeploy deployment's state means, and the
tally of which endpoint answered the sampled requests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from safe_sagemaker.cli.context import logical_id_prefix
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError

SUCCEEDED = "succeeded"
ROLLED_BACK = "rolled back"
# CodeDeploy's terminal statuses; a Lambda deployment group with auto-rollback moves the alias
# back on every failure or stop, which is what the rollback alarms and hooks trigger.
_OUTCOMES = {"Succeeded": SUCCEEDED, "Failed": ROLLED_BACK, "Stopped": ROLLED_BACK}


@dataclass(frozen=True)
class RolloutTarget:
    """Physical names of one model's rollout machinery in a deployed stack."""

    application: str
    deployment_group: str
    function: str | None
    alias: str | None
    alarms: tuple[str, ...] = ()


def rollout_target(resources: list[dict[str, Any]], model: str, stack: str) -> RolloutTarget:
    """Find them among ListStackResources summaries by CDK's logical ids (ServedModel is named
    after the model: ``<model>Deployment DeploymentGroup``, ``<model>Frontend Alias``,
    ``<model>RollbackAlarms ...``; an alarm's physical id is its name)."""
    prefix = logical_id_prefix(model)

    def physical(resource_type: str, start: str | None) -> str | None:
        for summary in resources:
            logical = summary["LogicalResourceId"]
            if summary["ResourceType"] == resource_type and (
                start is None or logical.startswith(start)
            ):
                return str(summary.get("PhysicalResourceId") or "") or None
        return None

    group = physical("AWS::CodeDeploy::DeploymentGroup", f"{prefix}DeploymentDeploymentGroup")
    application = physical("AWS::CodeDeploy::Application", None)
    if group is None or application is None:
        raise CliError(
            f"stack {stack} has no CodeDeploy deployment group for model {model!r}: is the model "
            "deployed (npx cdk deploy)?",
            EXIT_FAILED,
        )
    alias_arn = physical("AWS::Lambda::Alias", f"{prefix}FrontendAlias")
    # An alias's physical id is its ARN: arn:aws:lambda:<region>:<account>:function:<name>:<alias>
    parts = alias_arn.split(":") if alias_arn else []
    function, alias = (parts[6], parts[7]) if len(parts) >= 8 else (None, None)
    alarms = tuple(
        str(s["PhysicalResourceId"])
        for s in resources
        if s["ResourceType"] == "AWS::CloudWatch::Alarm"
        and s["LogicalResourceId"].startswith(f"{prefix}RollbackAlarms")
        and s.get("PhysicalResourceId")
    )
    return RolloutTarget(application, group, function, alias, alarms)


def outcome(status: str | None) -> str | None:
    """``succeeded``, ``rolled back``, or None while the deployment runs."""
    return _OUTCOMES.get(status or "")


@dataclass
class Snapshot:
    """What the live view shows at one moment."""

    deployment_id: str | None = None
    status: str | None = None
    error: str | None = None
    hooks: list[tuple[str, str]] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    alarms: dict[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str | None:
        return outcome(self.status)

    def as_json(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "status": self.status,
            "outcome": self.outcome,
            "error": self.error,
            "hooks": dict(self.hooks),
            "alias_weights": self.weights,
            "alarms": self.alarms,
        }


def alias_weights(alias: dict[str, Any]) -> dict[str, float]:
    """Share of traffic per function version from a GetAlias answer."""
    extra: dict[str, float] = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
    weights = {str(version): float(weight) for version, weight in extra.items()}
    weights[str(alias["FunctionVersion"])] = round(1 - sum(weights.values()), 4)
    return weights


def newest(deployments: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(deployments, key=lambda d: d["createTime"], default=None)


class Tally:
    """Requests per answering endpoint and how many failed; shared with the request thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()

    def record(self, endpoint: str | None, ok: bool) -> None:
        name = endpoint or "(no endpoint header)"
        with self._lock:
            self._answers[name] += 1
            if not ok:
                self._errors[name] += 1

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "endpoint": name,
                    "requests": count,
                    "errors": self._errors[name],
                    "error_rate": round(self._errors[name] / count, 4),
                }
                for name, count in sorted(self._answers.items())
            ]


def summary_line(model: str, snapshot: Snapshot, tally: Tally) -> str:
    traffic = ", ".join(
        f"{row['endpoint']} {row['requests']} req {row['error_rate']:.1%} errors"
        for row in tally.rows()
    )
    state = snapshot.outcome or f"still {snapshot.status or 'not started'}"
    detail = f" ({snapshot.error})" if snapshot.error else ""
    return f"{model}: deployment {snapshot.deployment_id or '-'} {state}{detail}" + (
        f"; {traffic}" if traffic else ""
    )
