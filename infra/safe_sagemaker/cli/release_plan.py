"""The pure part of ``preview``: from the deployed template and a fresh synth, per model what a
``cdk deploy`` does, why, how long the rollout takes and what it costs, and which changes are
risks. CloudFormation's own rules decide replaced vs updated
(``safe_sagemaker.cfn_replacements``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from safe_sagemaker.cfn_replacements import PATH_METADATA, plan
from safe_sagemaker.cli.rollout import config_name, rollout_time
from safe_sagemaker.endpoint_update_policy import CapacitySize, EndpointUpdatePolicy

# Resources that requests pass through. Replacing one of these in place (rather than beside
# the old one, as blue/green does for endpoints) drops or fails traffic while it happens.
SERVING_TYPES = {
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::Lambda::Function",
    "AWS::Lambda::Alias",
    "AWS::SageMaker::Endpoint",
}
ENDPOINT_SUFFIX = "Endpoint/Resource"
# What defines the served model: its changes are the reasons a new endpoint is created.
DEFINING_SUFFIXES = ("Endpoint/Model", "Endpoint/EndpointConfig")
DEFAULT_METRICS_WAIT_SECONDS = 300


@dataclass(frozen=True)
class Change:
    action: str  # replace, update, add, remove
    type: str
    path: str


class FieldChange(NamedTuple):
    """A property of the Model or EndpointConfig, by its dotted path, before and after."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Risk:
    path: str
    type: str
    reason: str


@dataclass
class ModelPlan:
    model: str
    new_endpoint: bool
    blue: str | None
    green: str | None
    causes: list[FieldChange] = field(default_factory=list)
    strategy: str | None = None
    # endpoint-guardrails: the same endpoint, updated in place by SageMaker's own rollout.
    in_place: bool = False
    rollout_minutes: float | None = None
    overlap_instances: int | None = None
    instance_type: str | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass
class ReleasePlan:
    stack: str
    models: list[ModelPlan]
    shared: list[Change]
    risks: list[Risk]

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        for model, model_plan in zip(document["models"], self.models, strict=True):
            model["causes"] = [cause._asdict() for cause in model_plan.causes]
        return document


class _Side:
    """One template, indexed by construct path below the stack."""

    def __init__(self, template: dict[str, Any], stack: str) -> None:
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self.prefix = f"{stack}/"
        # A stack the delivery pipeline deployed sits below its stage's path
        # (PipelineStack/Prod/ProdStack/...); paths below the stack are the same.
        self.staged_prefix = f"/{stack}/"

    def path(self, logical_id: str) -> str:
        metadata = self.resources[logical_id].get("Metadata", {})
        path = str(metadata.get(PATH_METADATA, logical_id))
        if not path.startswith(self.prefix) and self.staged_prefix in path:
            return path.split(self.staged_prefix, 1)[1]
        return path.removeprefix(self.prefix)

    def at(self, path: str) -> dict[str, Any] | None:
        for logical_id in self.resources:
            if self.path(logical_id) == path:
                return self.resources[logical_id]
        return None

    def models(self) -> list[str]:
        found = []
        for logical_id, resource in self.resources.items():
            path = self.path(logical_id)
            if resource["Type"] == "AWS::SageMaker::Endpoint" and path.endswith(ENDPOINT_SUFFIX):
                found.append(path.removesuffix(ENDPOINT_SUFFIX).rstrip("/"))
        return found


def _endpoint_name(side: _Side, model: str) -> str | None:
    endpoint = side.at(f"{model}/{ENDPOINT_SUFFIX}")
    name = endpoint and endpoint.get("Properties", {}).get("EndpointName")
    return name if isinstance(name, str) else None


def field_changes(before: Any, after: Any, where: str) -> list[FieldChange]:
    """Leaf-level differences of two property trees (lists compared whole unless equal-length
    lists of dicts, which are compared item by item)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after)):
            changes += field_changes(before.get(key), after.get(key), f"{where}.{key}")
        return changes
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(item, dict) for item in before + after)
    ):
        changes = []
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            changes += field_changes(a, b, f"{where}[{index}]")
        return changes
    return [] if before == after else [FieldChange(where, before, after)]


def _causes(
    old: _Side, new: _Side, model: str, blue: str | None, green: str | None
) -> list[FieldChange]:
    causes = []
    for suffix in DEFINING_SUFFIXES:
        before = (old.at(f"{model}/{suffix}") or {}).get("Properties", {})
        after = (new.at(f"{model}/{suffix}") or {}).get("Properties", {})
        if blue and green:
            # Values that name the endpoint (the capture prefix) follow it; they are no cause.
            before = json.loads(json.dumps(before).replace(blue, green))
        causes += field_changes(before, after, suffix.split("/")[-1])
    # A changed reference (Ref, Fn::GetAtt) follows a replaced resource, such as green's own
    # execution role; the settings that caused the replacement are the literal values.
    return [c for c in causes if ".Ref" not in c.field and ".Fn::" not in c.field]


def _strategy(new: _Side, model: str) -> tuple[str | None, int]:
    group = new.at(f"{model}/Deployment/DeploymentGroup/Resource") or {}
    name = group.get("Properties", {}).get("DeploymentConfigName")
    hook = new.at(f"{model}/Deployment/PostTrafficHook/Resource") or {}
    variables = hook.get("Properties", {}).get("Environment", {}).get("Variables", {})
    wait = int(variables.get("METRICS_WAIT_SECONDS", DEFAULT_METRICS_WAIT_SECONDS))
    return (config_name(name) if isinstance(name, str) else None), wait


def _fleet(new: _Side, model: str) -> tuple[int | None, str | None]:
    """Green's size at the shift: at least the autoscaling floor or the configured count (the
    pre-traffic hook raises it to blue's current count)."""
    config = new.at(f"{model}/Endpoint/EndpointConfig") or {}
    variants = config.get("Properties", {}).get("ProductionVariants", [{}])
    variant = variants[0] if variants else {}
    count = variant.get("InitialInstanceCount")
    target = new.at(f"{model}/Autoscaling/Target/Resource") or {}
    floor = target.get("Properties", {}).get("MinCapacity")
    counts = [c for c in (count, floor) if isinstance(c, int)]
    instance_type = variant.get("InstanceType")
    return (max(counts) if counts else None), instance_type


def release_plan(
    deployed: dict[str, Any], synthesized: dict[str, Any], stack: str, create_minutes: float
) -> ReleasePlan:
    old, new = _Side(deployed, stack), _Side(synthesized, stack)
    result = plan(deployed, synthesized)
    changes: list[tuple[str, Change]] = []
    for action, ids, side in (
        ("replace", result.replaced, new),
        ("update", result.updated, new),
        ("add", result.added, new),
        ("remove", result.removed, old),
    ):
        for logical_id in sorted(ids):
            resource = side.resources[logical_id]
            change = Change(action, resource["Type"], side.path(logical_id))
            changes.append((logical_id, change))

    models = sorted(set(old.models()) | set(new.models()))
    plans = []
    for model in models:
        blue, green = _endpoint_name(old, model), _endpoint_name(new, model)
        mine = [c for _, c in changes if c.path.startswith(f"{model}/")]
        model_plan = ModelPlan(
            model=model, new_endpoint=green is not None and green != blue, blue=blue, green=green
        )
        model_plan.changes = mine
        if model_plan.new_endpoint:
            model_plan.causes = _causes(old, new, model, blue, green)
            strategy, wait = _strategy(new, model)
            model_plan.strategy = strategy
            if strategy is not None:
                model_plan.rollout_minutes = rollout_time(
                    strategy, wait, create_minutes
                ).total_minutes
            model_plan.overlap_instances, model_plan.instance_type = _fleet(new, model)
        elif (policy := endpoint_update_policy(new, model)) is not None and any(
            c.path == f"{model}/{DEFINING_SUFFIXES[1]}" and c.action == "replace" for c in mine
        ):
            model_plan.in_place = True
            model_plan.causes = _causes(old, new, model, None, None)
            model_plan.strategy = f"endpoint-guardrails {policy.mode}"
            fleet, model_plan.instance_type = _fleet(new, model)
            size = fleet or 1
            model_plan.rollout_minutes = create_minutes + policy.baking_seconds(size) / 60
            batch = policy.maximum_batch_size
            model_plan.overlap_instances = batch.instances(size) if batch else fleet
        plans.append(model_plan)
    in_models = tuple(f"{m}/" for m in models)
    shared = [c for _, c in changes if not c.path.startswith(in_models)]
    return ReleasePlan(stack, plans, shared, risks(old, new, changes))


def risks(old: _Side, new: _Side, changes: list[tuple[str, Change]]) -> list[Risk]:
    found = []
    for logical_id, change in changes:
        if change.type not in SERVING_TYPES:
            continue
        if change.action == "replace":
            if change.type == "AWS::SageMaker::Endpoint" and _renamed(old, new, logical_id):
                continue  # blue/green: green is created beside blue under a new name
            found.append(
                Risk(change.path, change.type, "replaced in place: serves traffic while replaced")
            )
        elif change.action == "update" and change.type == "AWS::SageMaker::Endpoint":
            model = change.path.removesuffix(ENDPOINT_SUFFIX).rstrip("/")
            if endpoint_update_policy(new, model) is not None:
                found += _guardrails_risks(old, new, model)
                continue
            found.append(
                Risk(
                    change.path,
                    change.type,
                    "endpoint updated in place (same name): SageMaker swaps its fleet without "
                    "CodeDeploy, the hooks or the rollback alarms",
                )
            )
    return found


def _renamed(old: _Side, new: _Side, logical_id: str) -> bool:
    before = old.resources.get(logical_id, {}).get("Properties", {}).get("EndpointName")
    after = new.resources.get(logical_id, {}).get("Properties", {}).get("EndpointName")
    return before != after


def _capacity(value: Any) -> CapacitySize | None:
    return CapacitySize(value["Type"], value["Value"]) if isinstance(value, dict) else None


def endpoint_update_policy(side: _Side, model: str) -> EndpointUpdatePolicy | None:
    """The endpoint's SageMaker update policy (its ``DeploymentConfig``), if it has one."""
    endpoint = side.at(f"{model}/{ENDPOINT_SUFFIX}") or {}
    config = endpoint.get("Properties", {}).get("DeploymentConfig")
    if not isinstance(config, dict):
        return None
    rolling = config.get("RollingUpdatePolicy")
    if isinstance(rolling, dict):
        return EndpointUpdatePolicy(
            mode="rolling",
            wait_interval_seconds=rolling.get("WaitIntervalInSeconds", 0),
            maximum_batch_size=_capacity(rolling.get("MaximumBatchSize")),
            rollback_maximum_batch_size=_capacity(rolling.get("RollbackMaximumBatchSize")),
            maximum_execution_timeout_seconds=rolling.get("MaximumExecutionTimeoutInSeconds"),
        )
    blue_green = config.get("BlueGreenUpdatePolicy", {})
    routing = blue_green.get("TrafficRoutingConfiguration", {})
    modes = {"CANARY": "canary", "LINEAR": "linear"}
    return EndpointUpdatePolicy(
        mode=modes.get(routing.get("Type"), "all-at-once"),  # type: ignore[arg-type]
        wait_interval_seconds=routing.get("WaitIntervalInSeconds", 0),
        canary_size=_capacity(routing.get("CanarySize")),
        linear_step_size=_capacity(routing.get("LinearStepSize")),
        termination_wait_seconds=blue_green.get("TerminationWaitInSeconds"),
        maximum_execution_timeout_seconds=blue_green.get("MaximumExecutionTimeoutInSeconds"),
    )


def _guardrails_risks(old: _Side, new: _Side, model: str) -> list[Risk]:
    """AWS: an update that changes the instance type of a variant autoscaling scales fails;
    the variant must first be deregistered (a deploy without autoscaling)."""

    def instance_type(side: _Side) -> Any:
        config = side.at(f"{model}/{DEFINING_SUFFIXES[1]}") or {}
        variants = config.get("Properties", {}).get("ProductionVariants") or [{}]
        return variants[0].get("InstanceType")

    scaled = old.at(f"{model}/Autoscaling/Target/Resource") is not None
    if not scaled or instance_type(old) == instance_type(new):
        return []
    return [
        Risk(
            f"{model}/{ENDPOINT_SUFFIX}",
            "AWS::SageMaker::Endpoint",
            f"instance type {instance_type(old)} -> {instance_type(new)} of a variant that "
            "autoscaling scales: SageMaker refuses the update until the variant is deregistered; "
            "deploy once without autoscaling, then the new type with autoscaling",
        )
    ]
