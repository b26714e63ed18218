"""The rollout scenarios: what happens, what must come of it, and how fast it was detected.

Each scenario runs one model of a synthesized template (ProdStack's ``fraud-detector``: canary
10% for 5 minutes, autoscaling 2-10 instances, p99 latency budget 500 ms) through complete
rollouts in a ``World``. ``run`` returns the figures the tests assert on and the benchmark
prints (``tests/benchmarks/bench_rollouts.py``, the README's scenario table).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.simulator.template import ModelRollout
from tests.simulator.world import (
    BLUE_VERSION,
    GREEN_VERSION,
    Behaviour,
    Hang,
    Traffic,
    World,
)
from tests.support.frontend import patched_environ

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "lambdas" / "deployment_hooks_common" / "python"
MODEL = "fraud-detector"
PER_MINUTE = 1 / 60
# Blue's steady state before the deployment starts: two alarm periods of traffic.
WARM_UP_SECONDS = 120.0


def load_hooks(rollout: ModelRollout) -> dict[str, ModuleType]:
    """The real hook handlers, by their logical ids in the template (loaded once each)."""
    modules = {}
    for logical_id, folder in (
        (rollout.pre_hook_id, "pre_traffic_hook"),
        (rollout.post_hook_id, "post_traffic_hook"),
    ):
        # As in Lambda: the function's folder (its handler's package) and the layer.
        for path in (REPO / "lambdas" / folder, LAYER):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        name = f"simulated_{folder}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(
                name, REPO / "lambdas" / folder / "handler.py"
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            # The decisions are in the hooks' results; their INFO logs would drown the output.
            with patched_environ({"POWERTOOLS_LOG_LEVEL": "CRITICAL"}):
                spec.loader.exec_module(module)
        modules[logical_id] = module
    return modules


@dataclass(frozen=True)
class Scenario:
    name: str
    expect: str  # "rolls out" or "rolls back"
    rate: float  # API requests a second
    green: Behaviour = field(default_factory=Behaviour)
    blue: Behaviour = field(default_factory=Behaviour)
    bad_input_share: float = 0.0
    blue_instances: int = 2
    world_options: Mapping[str, Any] = field(default_factory=dict)
    # Extra steps after the first deployment (a reverse shift, a retry, ...).
    then: Callable[[World, Result], None] | None = None
    without_alarm_names: bool = False  # the pre-fix template: alarms updated in place
    healthy: bool = True
    settle_seconds: float = 0.0


@dataclass
class Result:
    scenario: str
    outcome: str  # "rolled out" / "rolled back"
    reason: str
    detection_seconds: float | None
    max_green_share: float
    green_requests: int
    duration_seconds: float
    notifications: list[str]
    hook_runs: list[dict[str, Any]]
    green_instances_at_first_shift: int | None
    green_floor_after: int | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return self.outcome.split()[1] == self.extra["expect"].split()[1]


def run(scenario: Scenario, template: Mapping[str, Any]) -> Result:
    if scenario.without_alarm_names:
        template = _without_alarm_names(template)
    rollout = ModelRollout.of(template, MODEL)
    hooks = load_hooks(rollout)
    world = World(
        rollout,
        hooks,
        traffic=Traffic(scenario.rate, scenario.bad_input_share),
        blue=scenario.blue,
        green=scenario.green,
        blue_instances=scenario.blue_instances,
        **scenario.world_options,
    )
    with world:
        # Blue has been live for a while; its traffic and alarms are the steady state.
        world.advance_to(WARM_UP_SECONDS)
        if world.stale_alarms:
            world.deploy_alarms(BLUE_VERSION, stale_state="ALARM")
        deployment = world.deploy()
        result = _result(scenario, world, deployment, world.green_instances_at_first_shift)
        if scenario.then is not None:
            scenario.then(world, result)
        # Alarms that page after the deployment (a failed floor restore) need a few minutes.
        world.advance_to(world.now + scenario.settle_seconds)
        result.notifications = [n.alarm for n in world.notifications]
        result.green_floor_after = _green_floor(world)
    return result


def _green_floor(world: World) -> int | None:
    targets = world.autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[f"endpoint/{world.green_endpoint}/variant/{world.variant}"],
    )["ScalableTargets"]
    return int(targets[0]["MinCapacity"]) if targets else None


def _result(scenario: Scenario, world: World, deployment: Any, instances: int | None) -> Result:
    rolled_back = deployment.status != "Succeeded"
    detection = None
    if rolled_back and world.first_bad_request is not None and deployment.ended_at is not None:
        detection = deployment.ended_at - world.first_bad_request
    return Result(
        scenario=scenario.name,
        outcome="rolled back" if rolled_back else "rolled out",
        reason=deployment.reason,
        detection_seconds=detection,
        max_green_share=deployment.max_green_share,
        green_requests=world.served["green"],
        duration_seconds=(deployment.ended_at or world.now) - deployment.created_at,
        notifications=[],
        hook_runs=list(world.hook_logs),
        green_instances_at_first_shift=instances,
        green_floor_after=None,
        extra={"expect": scenario.expect, "timeline": deployment.timeline},
    )


def _without_alarm_names(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template as it was before alarms were named per version (updated in place)."""
    changed = copy.deepcopy(dict(template))
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            resource["Properties"].pop("AlarmName", None)
    return changed


# --- follow-ups ---------------------------------------------------------------------------------


def reverse_shift(world: World, result: Result) -> None:
    """CloudFormation rolls the stack back after the forward shift succeeded: the alias moves
    back from green's version to blue's through CodeDeploy, with the same hooks."""
    world.advance_to(world.now + 120)
    reverse = world.deploy(current=GREEN_VERSION, target=BLUE_VERSION)
    result.extra["reverse"] = {
        "status": reverse.status,
        "reason": reverse.reason,
        "seconds": (reverse.ended_at or world.now) - reverse.created_at,
    }


def retry_after_fix(world: World, result: Result) -> None:
    """The same model version again after its rollback (the cause was outside the model):
    CloudFormation recreates green under the same name; a new Lambda version is published."""
    world.green_behaviour.error_rate = 0.0
    world.advance_to(world.now + 900)  # stack rollback, then the new deploy creating green
    world.add_version("9", like=GREEN_VERSION)
    retry = world.deploy(current=BLUE_VERSION, target="9")
    result.extra["retry"] = {"status": retry.status, "reason": retry.reason}


# --- the scenario set ---------------------------------------------------------------------------

RATES = {"1 req/min": PER_MINUTE, "1 req/s": 1.0, "100 req/s": 100.0}


def scenarios() -> list[Scenario]:
    found = []
    for label, rate in RATES.items():
        found.append(Scenario(f"healthy green at {label}", "rolls out", rate))
        found.append(
            Scenario(
                f"green failing 100% at {label}",
                "rolls back",
                rate,
                green=Behaviour(error_rate=1.0),
                healthy=False,
            )
        )
        found.append(
            Scenario(
                f"green failing 5% at {label}",
                "rolls back",
                rate,
                green=Behaviour(error_rate=0.05),
                healthy=False,
            )
        )
    found += [
        Scenario(
            "green p99 latency 800 ms (budget 500 ms) at 10 req/s",
            "rolls back",
            10.0,
            green=Behaviour(latency_ms=800.0),
            healthy=False,
        ),
        Scenario(
            "callers send 20% bad input (the model answers 400) at 10 req/s",
            "rolls out",
            10.0,
            bad_input_share=0.2,
        ),
        Scenario(
            "blue scaled out to 6, green starts at 2 (scale-out 4 min)",
            "rolls out",
            PER_MINUTE,
            green=Behaviour(scale_out_seconds=240.0),
            blue_instances=6,
        ),
        Scenario(
            "capacity floor restore fails after a good rollout",
            "rolls out",
            PER_MINUTE,
            green=Behaviour(scale_out_seconds=240.0),
            blue_instances=6,
            world_options={"fail_floor_restore": True},
            settle_seconds=420.0,
        ),
        Scenario(
            "scale-out of green takes 25 minutes",
            "rolls out",
            PER_MINUTE,
            green=Behaviour(scale_out_seconds=1500.0),
            blue_instances=6,
        ),
        Scenario(
            "stack rollback after a successful shift (reverse shift)",
            "rolls out",
            1.0,
            then=reverse_shift,
        ),
        Scenario(
            "rolled-back version deployed again",
            "rolls back",
            1.0,
            green=Behaviour(error_rate=1.0),
            then=retry_after_fix,
            healthy=False,
        ),
        Scenario(
            "hook's Lambda invoke hangs 65 s before its timeout",
            "rolls back",
            PER_MINUTE,
            green=Behaviour(scale_out_seconds=1500.0),
            blue_instances=6,
            world_options={"hang": Hang(frozenset({"lambda"}), since=WARM_UP_SECONDS + 830.0)},
            healthy=False,
        ),
        Scenario(
            "rollback alarms left in ALARM by the previous deployment",
            "rolls out",
            1.0,
            world_options={"stale_alarms": True},
        ),
    ]
    return found


def by_name(name: str) -> Scenario:
    [scenario] = [s for s in scenarios() if s.name == name]
    return scenario


# --- the anchors: the source articles' rollback alarms, in the same world ------------------------


def _alarm(metric: dict[str, Any], threshold: float, periods: int) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            **metric,
            "Period": 60,
            "Statistic": "Sum",
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "TreatMissingData": "notBreaching",
        },
    }


def anchor_template(template: Mapping[str, Any], anchor: str) -> dict[str, Any]:
    """``template`` with the deployment group watching an anchor's alarm instead of ours:

    - ``pipeline`` (CodePipeline/CodeDeploy article): the front-end function's Lambda
      ``Errors`` over 2 x 60 s, which a front end that answers every model error itself never
      raises;
    - ``terraform`` (Terraform article): ``Invocation5XXErrors`` more than 5 a minute for
      2 x 60 s; its 300 s canary wait is CodeDeploy's canary here.
    """
    changed = copy.deepcopy(dict(template))
    rollout = ModelRollout.of(changed, MODEL)
    resources = changed["Resources"]
    function = {"Ref": rollout.function_id}
    endpoint = rollout.environment(rollout.function_id)["ENDPOINT_NAME"]
    variant = rollout.environment(rollout.post_hook_id)["VARIANT_NAME"]
    if anchor == "pipeline":
        alarm = _alarm(
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
            },
            0,
            2,
        )
    else:
        alarm = _alarm(
            {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocation5XXErrors",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
            },
            5,
            2,
        )
    alarm["Metadata"] = {"aws:cdk:path": f"ProdStack/{MODEL}/Anchor/{anchor}/Resource"}
    resources[f"Anchor{anchor.title()}"] = alarm
    group = resources[rollout.group_id]["Properties"]["AlarmConfiguration"]
    group["Alarms"] = [{"Name": {"Ref": f"Anchor{anchor.title()}"}}]
    return changed


def run_anchor(anchor: str, rate: float, template: Mapping[str, Any]) -> Result:
    scenario = Scenario(
        f"{anchor}: green failing 100% at {rate:g} req/s",
        "rolls back",
        rate,
        green=Behaviour(error_rate=1.0),
    )
    return run(scenario, anchor_template(template, anchor))
