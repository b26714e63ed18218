"""The pure part of ``preview``: from the deployed template and a fresh synth, per model what a
``cdk deploy`` does, why, how long the rollout takes and what it costs, and which changes are
risks. CloudFormation's own rules decide replaced vs updated
(``safe_sagemaker.cfn_replacements``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from safe_sagemaker.cfn_replacements import PATH_METADATA, Plan, plan, references
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
    # The stack the model's resources move out of and into ("" for the top-level one, else
    # the nested stack's construct path), when nested_model_stacks was switched; else None.
    moved: tuple[str, str] | None = None
    # A model the deploy adds (its endpoint is created, with no blue beside it and nothing to
    # shift: its new alias starts at its version) or removes (endpoint, functions and route).
    added: bool = False
    removed: bool = False


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


# A resource by the stack it is in (the logical id of its nested stack's
# AWS::CloudFormation::Stack resource in the top-level template; "" for the top level) and its
# logical id there.
Key = tuple[str, str]
TOP = ""
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
EMPTY_TEMPLATE: dict[str, Any] = {"Resources": {}}
_Template = dict[str, Any]


@dataclass(frozen=True)
class StackTemplates:
    """A stack's template and its nested stacks' (``nested_model_stacks``: one per model), by
    the logical id of each one's ``AWS::CloudFormation::Stack`` resource in ``template``."""

    template: dict[str, Any]
    nested: Mapping[str, dict[str, Any]] = field(default_factory=dict)


def nested_stack_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's ``AWS::CloudFormation::Stack`` resources, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == NESTED_STACK_TYPE
    }


def nested_scope(path: str) -> str:
    """The construct path of a nested stack's children from the path of its resource in the
    parent: CDK puts a NestedStack ``id`` at ``<scope>/<id>.NestedStack/<id>.NestedStackResource``
    and its children at ``<scope>/<id>/...``."""
    return path.rsplit("/", 1)[0].removesuffix(".NestedStack")


class _Side:
    """One stack's templates (its own and its nested stacks'), every resource indexed by its
    construct path below the stack."""

    def __init__(self, templates: StackTemplates, stack: str) -> None:
        self.prefix = f"{stack}/"
        # A stack the delivery pipeline deployed sits below its stage's path
        # (PipelineStack/Prod/ProdStack/...); paths below the stack are the same.
        self.staged_prefix = f"/{stack}/"
        self.resources: dict[Key, dict[str, Any]] = {}
        self._paths: dict[Key, str] = {}
        sources = [(TOP, templates.template), *templates.nested.items()]
        for outer, template in sources:
            for logical_id, resource in template.get("Resources", {}).items():
                key = (outer, logical_id)
                self.resources[key] = resource
                self._paths[key] = self._below_stack(resource, logical_id)
        self._by_path = {path: key for key, path in reversed(self._paths.items())}
        # The construct path of each nested stack's children, by its logical id in the top level.
        self.scopes = {
            outer: nested_scope(self._paths[(TOP, outer)])
            for outer in templates.nested
            if (TOP, outer) in self._paths
        }

    def _below_stack(self, resource: dict[str, Any], logical_id: str) -> str:
        path = str(resource.get("Metadata", {}).get(PATH_METADATA, logical_id))
        if not path.startswith(self.prefix) and self.staged_prefix in path:
            return path.split(self.staged_prefix, 1)[1]
        return path.removeprefix(self.prefix)

    def path(self, key: Key) -> str:
        return self._paths[key]

    def at(self, path: str) -> dict[str, Any] | None:
        key = self._by_path.get(path)
        return None if key is None else self.resources[key]

    def models(self) -> dict[str, str]:
        """Each model's root by its name: the construct path of its ServedModel below the
        stack (its name in one stack, ``<name>/<name>`` in a nested stack of its own)."""
        found = {}
        for key, resource in self.resources.items():
            path = self.path(key)
            if resource["Type"] == "AWS::SageMaker::Endpoint" and path.endswith(ENDPOINT_SUFFIX):
                root = path.removesuffix(ENDPOINT_SUFFIX).rstrip("/")
                found[root.rsplit("/", 1)[-1]] = root
        return found

    def stack_of(self, root: str) -> str | None:
        """The construct path of the nested stack that holds the model at ``root`` (its
        scope: everything below it is the model's), "" for the top-level stack, None when the
        model is not on this side."""
        key = self._by_path.get(f"{root}/{ENDPOINT_SUFFIX}")
        return None if key is None else self.scopes.get(key[0], TOP)


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
    old: _Side, new: _Side, roots: tuple[str, str], blue: str | None, green: str | None
) -> list[FieldChange]:
    """``roots``: the model's root on the old side and on the new side."""
    causes = []
    for suffix in DEFINING_SUFFIXES:
        before = (old.at(f"{roots[0]}/{suffix}") or {}).get("Properties", {})
        after = (new.at(f"{roots[1]}/{suffix}") or {}).get("Properties", {})
        if blue and green:
            # Values that name the endpoint (the capture prefix) follow it; they are no cause.
            before = json.loads(json.dumps(before).replace(blue, green))
        causes += field_changes(before, after, suffix.split("/")[-1])
    # A changed reference (Ref, Fn::GetAtt) follows a replaced resource, such as green's own
    # execution role; the settings that caused the replacement are the literal values.
    return [c for c in causes if ".Ref" not in c.field and ".Fn::" not in c.field]


def _strategy_kind(side: _Side, root: str) -> str:
    return "endpoint-guardrails" if endpoint_update_policy(side, root) else "frontend-alias"


def _strategy_switch(old: _Side, new: _Side, roots: tuple[str, str]) -> list[FieldChange]:
    """A switch of the model's rollout strategy, the cause of a new endpoint name that the
    Model and EndpointConfig fields do not show."""
    before, after = _strategy_kind(old, roots[0]), _strategy_kind(new, roots[1])
    return [] if before == after else [FieldChange("deployment.strategy", before, after)]


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


def _plans(deployed: StackTemplates, synthesized: StackTemplates) -> list[tuple[str, Plan]]:
    """What CloudFormation does in the top-level stack and in each nested stack. A nested
    stack's resources change too when a parameter its parent passes it changes (a replaced
    shared resource, such as a new layer version)."""
    top = plan(deployed.template, synthesized.template)
    plans = [(TOP, top)]
    before_stacks = nested_stack_resources(deployed.template)
    after_stacks = nested_stack_resources(synthesized.template)
    for outer in sorted(set(deployed.nested) | set(synthesized.nested)):
        before = deployed.nested.get(outer, EMPTY_TEMPLATE)
        after = synthesized.nested.get(outer, EMPTY_TEMPLATE)
        old_inputs = before_stacks.get(outer, {}).get("Properties", {}).get("Parameters", {})
        new_inputs = after_stacks.get(outer, {}).get("Properties", {}).get("Parameters", {})
        changed = {
            name
            for name, value in new_inputs.items()
            if old_inputs.get(name) != value or references(value) & top.replaced
        }
        plans.append((outer, plan(before, after, changed)))
    return plans


def release_plan(
    deployed: StackTemplates | _Template,
    synthesized: StackTemplates | _Template,
    stack: str,
    create_minutes: float,
) -> ReleasePlan:
    """``deployed`` and ``synthesized``: the stack's templates (a template alone is a stack
    without nested stacks)."""
    if not isinstance(deployed, StackTemplates):
        deployed = StackTemplates(deployed)
    if not isinstance(synthesized, StackTemplates):
        synthesized = StackTemplates(synthesized)
    old, new = _Side(deployed, stack), _Side(synthesized, stack)
    changes: list[tuple[Key, Change]] = []
    for outer, result in _plans(deployed, synthesized):
        for action, ids, side in (
            ("replace", result.replaced, new),
            ("update", result.updated, new),
            ("add", result.added, new),
            ("remove", result.removed, old),
        ):
            for logical_id in sorted(ids):
                key = (outer, logical_id)
                change = Change(action, side.resources[key]["Type"], side.path(key))
                changes.append((key, change))

    old_models, new_models = old.models(), new.models()
    plans = []
    homes: list[str] = []
    found: list[Risk] = []
    for name in sorted(old_models.keys() | new_models.keys()):
        model = new_models.get(name) or old_models[name]
        was = old_models.get(name, model)
        # A model's own: what is below it (in its nested stack, if it has one) and the nested
        # stack itself, on both sides (a switch of nested_model_stacks moves it).
        # In one stack everything below the model's root is its own.
        scope = tuple(
            f"{home}{suffix}"
            for home in {new.stack_of(model) or model, old.stack_of(was) or was}
            for suffix in ("/", ".NestedStack/")
        )
        homes += scope
        blue, green = _endpoint_name(old, was), _endpoint_name(new, model)
        mine = [c for _, c in changes if c.path.startswith(scope)]
        model_plan = ModelPlan(
            model=name,
            new_endpoint=green is not None and green != blue,
            blue=blue,
            green=green,
        )
        model_plan.changes = mine
        if name not in old_models or name not in new_models:
            model_plan.added, model_plan.removed = name not in old_models, name not in new_models
            if model_plan.added:
                model_plan.rollout_minutes = create_minutes
                _, model_plan.instance_type = _fleet(new, model)
        elif (moved := _moved(old, new, (was, model))) is not None:
            model_plan.moved = moved
            found.append(_move_risk(model, moved, blue, green))
            # Its resources are created anew, not rolled out: only the causes of a new name.
            model_plan.causes = _causes(old, new, (was, model), blue, green)
        elif model_plan.new_endpoint:
            model_plan.causes = _strategy_switch(old, new, (was, model)) + _causes(
                old, new, (was, model), blue, green
            )
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
            model_plan.causes = _causes(old, new, (was, model), None, None)
            model_plan.strategy = f"endpoint-guardrails {policy.mode}"
            fleet, model_plan.instance_type = _fleet(new, model)
            size = fleet or 1
            model_plan.rollout_minutes = create_minutes + policy.baking_seconds(size) / 60
            batch = policy.maximum_batch_size
            model_plan.overlap_instances = batch.instances(size) if batch else fleet
        plans.append(model_plan)
    shared = [c for _, c in changes if not c.path.startswith(tuple(homes))]
    return ReleasePlan(stack, plans, shared, found + risks(old, new, changes))


def _moved(old: _Side, new: _Side, roots: tuple[str, str]) -> tuple[str, str] | None:
    """The stacks a model on both sides leaves and enters, if they differ."""
    before, after = old.stack_of(roots[0]), new.stack_of(roots[1])
    return None if before is None or after is None or before == after else (before, after)


def _move_risk(root: str, moved: tuple[str, str], blue: str | None, green: str | None) -> Risk:
    """CloudFormation does not move resources between stacks: it creates the model's resources
    in the stack they move into, then deletes them from the one they leave."""
    where = {TOP: "the stack"}
    if green == blue:
        outcome = (
            f"the endpoint {green} already exists, as do the resources named after it (its "
            "monitoring schedule, endpoint-guardrails alarms), so the deploy fails and rolls back"
        )
    else:
        # The new stack's alias starts at its version: CodeDeploy shifts only an existing one.
        outcome = (
            f"the API switches to the new endpoint {green} at once, without CodeDeploy's "
            "canary, hooks or rollback alarms"
        )
    return Risk(
        f"{root}/{ENDPOINT_SUFFIX}",
        "AWS::SageMaker::Endpoint",
        f"moves from {where.get(moved[0], f'nested stack {moved[0]}')} into "
        f"{where.get(moved[1], f'nested stack {moved[1]}')} (nested_model_stacks was "
        f"switched): CloudFormation creates its resources there before it deletes the old "
        f"ones, and {outcome}. Keep nested_model_stacks as the environment was created, or "
        "deploy the models under a new environment name",
    )


def risks(old: _Side, new: _Side, changes: list[tuple[Key, Change]]) -> list[Risk]:
    found = []
    for key, change in changes:
        if change.type not in SERVING_TYPES:
            continue
        if change.action == "replace":
            if change.type == "AWS::SageMaker::Endpoint" and _renamed(old, new, key):
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


def _renamed(old: _Side, new: _Side, key: Key) -> bool:
    before = old.resources.get(key, {}).get("Properties", {}).get("EndpointName")
    after = new.resources.get(key, {}).get("Properties", {}).get("EndpointName")
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
