"""The simulated world of one rollout: a fake clock, traffic, two SageMaker runtimes (blue and
green, local HTTP servers), the real front-end handler (one copy per Lambda version), the real
pre- and post-traffic hooks, CloudWatch (``cloudwatch.py``) and CodeDeploy (``codedeploy.py``).

Time is simulated: every wait of a hook (``clock.sleep``) and every hung AWS call moves the
world on, second by second: traffic arrives, metrics are recorded, alarms are evaluated,
CodeDeploy polls and shifts. A hook still running past its Lambda timeout is killed (its
report never arrives), as the Lambda runtime does.

Traffic at high rates is grouped, never invented: within one simulated second the requests of
one version that meet the same runtime behaviour (answered, 5xx, 4xx) are served by ONE real
handler call, and that call's metrics (its EMF documents, the runtime's and Lambda's counts)
are counted once per request. The handler is a pure function of the request and the runtime's
answer, so this equals running each request, at a fraction of the cost.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from types import ModuleType
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.simulator.cloudwatch import ALARM, Alarm, FakeCloudWatch, MetricStore
from tests.simulator.codedeploy import Deployment, FakeCodeDeploy
from tests.simulator.template import ModelRollout, Resolver
from tests.support.fake_sagemaker_runtime import FakeSageMakerRuntime, Fault
from tests.support.frontend import load_frontend_copy, rest_event

EPOCH = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
# Assumptions about AWS that AWS does not document as numbers (README: the rollout simulator).
METRIC_LAG_SECONDS = 30.0  # a period's datapoint is visible this long after the period ends
ALARM_EVALUATION_OFFSET = 35.0  # alarms evaluate every minute, at :35
SAGEMAKER = "AWS/SageMaker"
LAMBDA = "AWS/Lambda"
BLUE_VERSION, GREEN_VERSION = "7", "8"
STACK = "ProdStack"


class Killed(BaseException):
    """The Lambda runtime ends a hook at its timeout (or the simulation stops it): nothing it
    would still do happens. A BaseException, so the hook's own ``except Exception`` cannot
    catch it, exactly like a real timeout."""


@dataclass
class Behaviour:
    """How one endpoint answers. ``error_rate``: share of live requests answered 5xx (one in
    ``1/error_rate``, the first live request first); ``samples_fail``: the pre-traffic samples
    too; ``latency_ms``: ModelLatency; ``scale_out_seconds``: how long a scale-out takes."""

    error_rate: float = 0.0
    samples_fail: bool = False
    latency_ms: float = 40.0
    scale_out_seconds: float = 300.0
    served: int = 0

    def next_live_fails(self) -> bool:
        self.served += 1
        return math.ceil(self.served * self.error_rate) > math.ceil(
            (self.served - 1) * self.error_rate
        )


@dataclass
class Fleet:
    """An endpoint's instances as DescribeEndpoint shows them."""

    name: str
    variant: str
    instances: int
    behaviour: Behaviour
    status: str = "InService"
    desired: int = 0
    ready_at: float = 0.0

    def follow_floor(self, floor: int, now: float) -> None:
        if floor > max(self.instances, self.desired):
            self.desired, self.status = floor, "Updating"
            self.ready_at = now + self.behaviour.scale_out_seconds
        if self.status == "Updating" and now >= self.ready_at:
            self.instances, self.status = self.desired, "InService"

    def describe(self) -> dict[str, Any]:
        return {
            "EndpointName": self.name,
            "EndpointStatus": self.status,
            "ProductionVariants": [
                {
                    "VariantName": self.variant,
                    "CurrentInstanceCount": self.instances,
                    "DesiredInstanceCount": max(self.instances, self.desired),
                }
            ],
        }


@dataclass
class Traffic:
    """Requests a second on the API, and the share of them with input the model rejects."""

    per_second: float
    bad_input_share: float = 0.0
    _due: float = 0.0
    _bad_due: float = 0.0

    def arrivals(self) -> tuple[int, int]:
        """(good, bad) requests arriving in the next second."""
        self._due += self.per_second
        arriving = int(self._due + 1e-9)
        self._due -= arriving
        self._bad_due += arriving * self.bad_input_share
        bad = int(self._bad_due)
        self._bad_due -= bad
        return arriving - bad, bad


@dataclass
class Hang:
    """AWS calls of ``services`` hang (never answer) from ``since`` (seconds into the run)."""

    services: frozenset[str]
    since: float


@dataclass
class Notification:
    at: float
    alarm: str


@dataclass
class Version:
    number: str
    environment: dict[str, str]
    module: ModuleType
    fleet: Fleet


class SimClock:
    """The ``Clock`` the hooks use: reading it reads the world, sleeping moves it on."""

    def __init__(self, world: World) -> None:
        self.world = world

    def monotonic(self) -> float:
        return self.world.now

    def now(self) -> datetime:
        return self.world.datetime(self.world.now)

    def sleep(self, seconds: float) -> None:
        self.world.advance_to(self.world.now + seconds)


@dataclass
class HookContext:
    """The Lambda context of one hook run."""

    world: World
    started: float
    timeout: float
    invoked_function_arn: str
    function_name: str = "hook"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "sim"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.started + self.timeout - self.world.now) * 1000)


class SimClient:
    """One client as ``TimeBoxedClient`` builds it: calls go to the world's fake of the
    service, and a hung call takes exactly what its timeouts and attempts allow."""

    def __init__(self, world: World, service: str, config: Config) -> None:
        self.world, self.service, self.config = world, service, config
        self.target = world.services[service]

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> Any:
            if self.world.hung(self.service):
                attempts = self.config.retries["max_attempts"]
                per_attempt = self.config.connect_timeout + self.config.read_timeout
                backoff = sum(2**retry for retry in range(attempts - 1))
                self.world.advance_to(self.world.now + attempts * per_attempt + backoff)
                raise ReadTimeoutError(endpoint_url=f"https://{self.service}.sim")
            return getattr(self.target, operation)(**kwargs)

        return call


class World:
    """Everything one scenario runs in. Use as a context manager."""

    def __init__(
        self,
        rollout: ModelRollout,
        hooks: dict[str, ModuleType],
        *,
        traffic: Traffic,
        blue: Behaviour,
        green: Behaviour,
        blue_instances: int = 2,
        green_instances: int | None = None,
        hang: Hang | None = None,
        fail_floor_restore: bool = False,
        stale_alarms: bool = False,
        budget_timeouts: bool = True,
    ) -> None:
        self.rollout, self.hook_modules, self.traffic = rollout, hooks, traffic
        self.hang, self.fail_floor_restore = hang, fail_floor_restore
        self.stale_alarms, self.budget_timeouts = stale_alarms, budget_timeouts
        self.now = 0.0
        self.started_at = 0.0
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = count()
        self._running_hooks: list[HookContext] = []
        self.store = MetricStore()
        self.alarms: dict[str, Alarm] = {}
        self.notifications: list[Notification] = []
        self.first_bad_request: float | None = None
        self.hook_logs: list[dict[str, Any]] = []
        self.served: dict[str, int] = {"blue": 0, "green": 0}
        # Green's size when traffic first moved to it (capacity matching happens before).
        self.green_instances_at_first_shift: int | None = None
        self._target_due: dict[str, float] = {}
        self.blue_behaviour, self.green_behaviour = blue, green
        env = rollout.environment(rollout.function_id)
        self.function_name = f"{STACK}-{rollout.model}-frontend"
        self.green_endpoint = env["ENDPOINT_NAME"]
        self.blue_endpoint = self.green_endpoint[:-8] + "0b1e0b1e"
        self.variant = rollout.environment(rollout.post_hook_id)["VARIANT_NAME"]
        scaling = self._scalable_target()
        self.min_capacity = int(scaling["MinCapacity"]) if scaling else None
        self.max_capacity = int(scaling["MaxCapacity"]) if scaling else None
        self.green_start = green_instances or self.min_capacity or 1
        self.blue_fleet = Fleet(self.blue_endpoint, self.variant, blue_instances, blue)
        self.green_fleet = Fleet(self.green_endpoint, self.variant, self.green_start, green)

    # --- set-up -----------------------------------------------------------------------------
    def __enter__(self) -> World:
        self.autoscaling = MotoAutoscaling()
        # In process: thousands of calls per scenario, whose HTTP the e2e tests already cover.
        self.runtimes = {
            side: FakeSageMakerRuntime(record_bodies=False) for side in ("blue", "green")
        }
        env = self.rollout.environment(self.rollout.function_id)
        blue_env = {**env, "ENDPOINT_NAME": self.blue_endpoint, "MODEL_VERSION": "0b1e0b1e"}
        self.versions = {
            BLUE_VERSION: self._version(BLUE_VERSION, blue_env, "blue", self.blue_fleet),
            GREEN_VERSION: self._version(GREEN_VERSION, env, "green", self.green_fleet),
        }
        for fleet in (self.blue_fleet, self.green_fleet):
            if self.min_capacity is not None:
                self.autoscaling.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=f"endpoint/{fleet.name}/variant/{self.variant}",
                    ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                    MinCapacity=self.min_capacity,
                    MaxCapacity=self.max_capacity,
                )
        self.physical = {
            self.rollout.function_id: self.function_name,
            self.rollout.pre_hook_id: f"{STACK}-{self.rollout.model}-pre-traffic-hook",
            self.rollout.post_hook_id: f"{STACK}-{self.rollout.model}-post-traffic-hook",
        }
        self.clock = SimClock(self)
        self.codedeploy = FakeCodeDeploy(
            now=lambda: self.now,
            to_datetime=self.datetime,
            schedule=self.schedule,
            invoke_hook=self._invoke_hook,
            alarm_state=lambda name: self.alarms[name].state if name in self.alarms else "OK",
            hooks={
                "BeforeAllowTraffic": self.physical[self.rollout.pre_hook_id],
                "AfterAllowTraffic": self.physical[self.rollout.post_hook_id],
            },
            on_shift=self._record_first_shift,
        )
        self.services: dict[str, Any] = {
            "codedeploy": self.codedeploy,
            "lambda": FakeLambda(self),
            "sagemaker": FakeSageMaker(self),
            "application-autoscaling": FlakyAutoscaling(self),
            "cloudwatch": FakeCloudWatch(
                self.store,
                lambda: self.now,
                METRIC_LAG_SECONDS,
                lambda moment: (moment - EPOCH).total_seconds(),
            ),
        }
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to release: the runtimes answer in process, moto's model is in memory."""

    def add_version(self, number: str, like: str) -> None:
        """Publish another front-end version with the configuration of version ``like`` (a
        retry of the same model version after a rollback)."""
        model = self.versions[like]
        side = "green" if model.fleet is self.green_fleet else "blue"
        self.versions[number] = self._version(number, model.environment, side, model.fleet)

    def _record_first_shift(self, _: float) -> None:
        if self.green_instances_at_first_shift is None:
            self.green_instances_at_first_shift = self.green_fleet.instances

    def _version(self, number: str, env: dict[str, str], side: str, fleet: Fleet) -> Version:
        module = load_frontend_copy(
            f"frontend_sim_{side}_{number}",
            {
                **env,
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://{side}.runtime.invalid",
                # Error logs of thousands of failing requests tell the simulation nothing.
                "POWERTOOLS_LOG_LEVEL": "CRITICAL",
            },
        )
        self.runtimes[side].serve_in_process(module._client)
        return Version(number, env, module, fleet)

    def _scalable_target(self) -> dict[str, Any] | None:
        for resource in self.rollout.template["Resources"].values():
            if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" and (
                f"/{self.rollout.model}/" in resource.get("Metadata", {}).get("aws:cdk:path", "")
            ):
                properties: dict[str, Any] = resource["Properties"]
                return properties
        return None

    def datetime(self, seconds: float) -> datetime:
        return EPOCH + timedelta(seconds=seconds)

    # --- time -------------------------------------------------------------------------------
    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._events, (self.now + delay, next(self._sequence), callback))

    def advance_to(self, target: float) -> None:
        """Move the world to ``target``: every second's traffic and every due event, in order."""
        while True:
            self._kill_overdue_hook(min(target, self._next_time()))
            next_time = self._next_time()
            if next_time > target:
                break
            if self._events and self._events[0][0] <= next_time:
                when, _, callback = heapq.heappop(self._events)
                self.now = max(self.now, when)
                callback()
            else:
                self.now = next_time
                self._tick()
        self.now = max(self.now, target)
        self._kill_overdue_hook(self.now)

    def _next_time(self) -> float:
        next_tick = math.floor(self.now) + 1.0
        return min(next_tick, self._events[0][0]) if self._events else next_tick

    def _kill_overdue_hook(self, moment: float) -> None:
        if self._running_hooks:
            hook = self._running_hooks[-1]
            if moment > hook.started + hook.timeout:
                self.now = hook.started + hook.timeout
                raise Killed(f"Lambda timeout after {hook.timeout:.0f} s")
            deployment = self.codedeploy.deployment
            if deployment is not None and deployment.status != "InProgress":
                raise Killed("the deployment ended; what the hook does no longer matters")

    def _tick(self) -> None:
        second = int(self.now)
        self._follow_autoscaling()
        deployment = self.codedeploy.deployment
        if deployment is None:
            current, target, share = BLUE_VERSION, BLUE_VERSION, 0.0
        else:
            current, target = deployment.current_version, deployment.target_version
            share = deployment.green_share
        good, bad = self.traffic.arrivals()
        for kind, arrivals in (("live", good), ("bad", bad)):
            to_target = self._to_target(arrivals, share, kind)
            self._serve(self.versions[target], kind, to_target, via_alias=True)
            self._serve(self.versions[current], kind, arrivals - to_target, via_alias=True)
        if second % 60 == ALARM_EVALUATION_OFFSET:
            self._evaluate_alarms()

    def _to_target(self, arrivals: int, share: float, kind: str) -> int:
        """Weighted alias routing, deterministic: the share's fraction of requests, spread."""
        due = self._target_due.get(kind, 0.0) + arrivals * share
        to_target = min(arrivals, int(due + 1e-9))
        self._target_due[kind] = due - to_target
        return to_target

    def _follow_autoscaling(self) -> None:
        if self.min_capacity is None or int(self.now) % 10:
            return
        for fleet in (self.blue_fleet, self.green_fleet):
            targets = self.autoscaling.describe_scalable_targets(
                ServiceNamespace="sagemaker",
                ResourceIds=[f"endpoint/{fleet.name}/variant/{self.variant}"],
            )["ScalableTargets"]
            floor = int(targets[0]["MinCapacity"]) if targets else 0
            fleet.follow_floor(floor, self.now)

    # --- serving ----------------------------------------------------------------------------
    def _serve(
        self, version: Version, kind: str, requests: int, *, via_alias: bool
    ) -> dict[str, Any] | None:
        """Serve ``requests`` requests of ``kind`` on ``version``; the last answer."""
        if requests <= 0:
            return None
        behaviour = version.fleet.behaviour
        outcomes: dict[str, int] = {}
        for _ in range(requests):
            if kind == "bad":
                outcome = "4xx"
            elif kind == "sample":
                outcome = "5xx" if behaviour.samples_fail else "ok"
            else:
                outcome = "5xx" if behaviour.next_live_fails() else "ok"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        answer = None
        for outcome, weight in outcomes.items():
            answer = self._call_frontend(version, outcome, weight, via_alias=via_alias)
        return answer

    def _call_frontend(
        self, version: Version, outcome: str, weight: int, *, via_alias: bool
    ) -> dict[str, Any]:
        side = "green" if version.fleet is self.green_fleet else "blue"
        runtime = self.runtimes[side]
        fault = {
            "ok": None,
            "5xx": Fault("model-error", status=500, message="model failed"),
            "4xx": Fault("model-error", status=400, message="bad features"),
        }[outcome]
        runtime.set_fault(version.fleet.name, fault)
        if outcome == "5xx" and side == "green" and self.first_bad_request is None:
            self.first_bad_request = self.now
        before = runtime.count(version.fleet.name)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            response: dict[str, Any] = version.module.handler(
                rest_event('{"instances": [[0.12, 250.0, 3, 1]]}'), None
            )
        reached_runtime = runtime.count(version.fleet.name) > before
        self.served[side] += weight
        at = self.now
        if via_alias:
            alias_dims = {
                "FunctionName": self.function_name,
                "Resource": f"{self.function_name}:live",
                "ExecutedVersion": version.number,
            }
            # CloudWatch publishes each function metric per alias + version and per function.
            for dims in (alias_dims, {"FunctionName": self.function_name}):
                self.store.put(LAMBDA, "Invocations", dims, at=at, value=1, weight=weight)
                self.store.put(LAMBDA, "Errors", dims, at=at, value=0, weight=weight)
        if reached_runtime:
            dims = {"EndpointName": version.fleet.name, "VariantName": self.variant}
            self.store.put(SAGEMAKER, "Invocations", dims, at=at, value=1, weight=weight)
            self.store.put(
                SAGEMAKER, "Invocation5XXErrors", dims, at=at, value=outcome == "5xx", weight=weight
            )
            self.store.put(
                SAGEMAKER, "Invocation4XXErrors", dims, at=at, value=outcome == "4xx", weight=weight
            )
            latency_us = version.fleet.behaviour.latency_ms * 1000
            self.store.put(SAGEMAKER, "ModelLatency", dims, at=at, value=latency_us, weight=weight)
        self._record_emf(output.getvalue(), weight)
        return response

    def _record_emf(self, text: str, weight: int) -> None:
        for line in text.splitlines():
            if line.startswith("{"):
                for namespace, name, dims, value in emf_datapoints(json.loads(line)):
                    self.store.put(namespace, name, dims, at=self.now, value=value, weight=weight)

    # --- alarms -----------------------------------------------------------------------------
    def deploy_alarms(self, version_number: str, *, stale_state: str | None = None) -> list[str]:
        """Create or update (PutMetricAlarm) the model's alarms as the template defines them
        for a front end at ``version_number``; the deployment group's names."""
        resolver = Resolver(self.physical, {self.rollout.version_id: version_number})
        ids = [*self.rollout.group_alarm_ids, *self.rollout.alarm_ids_under("Deployment/")]
        names: dict[str, str] = {}
        for logical_id in ids:
            properties = self.rollout.alarm_properties(logical_id, resolver)
            name = properties.get("AlarmName") or f"{STACK}-{logical_id}"
            names[logical_id] = name
            existing = self.alarms.get(name)
            if existing is None:
                self.alarms[name] = Alarm(
                    name, properties, state=stale_state or "INSUFFICIENT_DATA"
                )
            else:
                existing.properties = properties  # the state stays, as PutMetricAlarm keeps it
        return [names[logical_id] for logical_id in self.rollout.group_alarm_ids]

    def _evaluate_alarms(self) -> None:
        for alarm in self.alarms.values():
            before = alarm.state
            state = alarm.evaluate(self.store, self.now, METRIC_LAG_SECONDS)
            if state == ALARM and before != ALARM and alarm.properties.get("AlarmActions"):
                self.notifications.append(Notification(self.now, alarm.name))

    # --- hooks ------------------------------------------------------------------------------
    def hung(self, service: str) -> bool:
        hang = self.hang
        return hang is not None and service in hang.services and self.now >= hang.since

    def _invoke_hook(self, function_name: str, payload: dict[str, Any]) -> None:
        logical_id = next(k for k, v in self.physical.items() if v == function_name)
        module = self.hook_modules[logical_id]
        context = HookContext(
            self,
            started=self.now,
            timeout=self.rollout.timeout(logical_id),
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
            function_name=function_name,
        )
        environment = self.rollout.environment(logical_id)
        self._running_hooks.append(context)
        output = io.StringIO()
        try:
            with patched_hook(module, self, environment), contextlib.redirect_stdout(output):
                result = module.handler(payload, context)
            self.hook_logs.append({"at": self.now, "hook": function_name, **result})
        except Killed as killed:
            self.hook_logs.append({"at": self.now, "hook": function_name, "killed": str(killed)})
        finally:
            self._running_hooks.pop()
            self._record_emf(output.getvalue(), 1)

    def client_factory(self, service: str, *, config: Config) -> Any:
        return SimClient(self, service, config)

    # --- running ----------------------------------------------------------------------------
    def deploy(
        self, *, current: str = BLUE_VERSION, target: str = GREEN_VERSION, limit: float = 7200
    ) -> Deployment:
        """One CodeDeploy deployment from ``current`` to ``target``, run to its end."""
        alarm_names = self.deploy_alarms(target)
        deployment = Deployment(
            deployment_id=f"d-SIM{int(self.now)}",
            function_name=self.function_name,
            current_version=current,
            target_version=target,
            plan=self.rollout.shift_plan,
            alarm_names=alarm_names,
            created_at=self.now,
            green_share=0.0,
        )
        self.started_at = self.now
        self.schedule(0.0, lambda: self.codedeploy.start(deployment))
        ends = self.now + limit
        while deployment.status == "InProgress" and self.now < ends:
            self.advance_to(self.now + 1)
        return deployment


def emf_datapoints(
    document: dict[str, Any],
) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """(namespace, metric, dimensions, value) of one Embedded Metric Format document, as
    CloudWatch Logs extracts them; nothing for a line that is not EMF."""
    for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimension_set in directive["Dimensions"]:
            dims = {name: document[name] for name in dimension_set}
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    yield directive["Namespace"], metric["Name"], dims, float(value)


@contextlib.contextmanager
def patched_hook(module: ModuleType, world: World, environment: dict[str, str]) -> Iterator[None]:
    """Run a hook module against the world: its clients and clock, its template environment."""
    from deployment_hooks_common.aws import TimeBoxedClient

    from tests.support.frontend import patched_environ

    clients = module.CLIENTS
    fields = {}
    for name in type(clients).__dataclass_fields__:
        service = getattr(clients, name).service_name
        timed = TimeBoxedClient(
            service, read_timeout=getattr(clients, name).read_timeout, factory=world.client_factory
        )
        if not world.budget_timeouts:  # the design before the fix: one fixed budget a call
            timed.current_budget = _fixed_budget(timed)  # type: ignore[method-assign]
        fields[name] = timed
    saved = (module.CLIENTS, module.CLOCK)
    module.CLIENTS = type(clients)(**fields)
    module.CLOCK = world.clock
    try:
        with patched_environ(environment):
            yield
    finally:
        module.CLIENTS, module.CLOCK = saved


def _fixed_budget(client: Any) -> Callable[[], Any]:
    from deployment_hooks_common.aws import call_budget

    return lambda: call_budget(None, client.read_timeout)


class FakeLambda:
    """The Lambda API the hooks call: version configurations, synchronous invokes of a front-end
    version (the pre-traffic samples), asynchronous invokes of a hook (its continuation)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def get_function_configuration(self, FunctionName: str, Qualifier: str) -> dict[str, Any]:
        return {"Environment": {"Variables": self.world.versions[Qualifier].environment}}

    def invoke(
        self,
        FunctionName: str,
        Payload: bytes,
        Qualifier: str | None = None,
        InvocationType: str = "RequestResponse",
    ) -> dict[str, Any]:
        world = self.world
        if InvocationType == "Event":
            name = FunctionName.rsplit(":", 1)[-1]
            payload = json.loads(Payload)
            world.schedule(1.0, lambda: world._invoke_hook(name, payload))
            return {"StatusCode": 202}
        assert Qualifier is not None
        version = world.versions[Qualifier]
        answer = world._serve(version, "sample", 1, via_alias=False)
        return {
            "StatusCode": 200,
            "ExecutedVersion": Qualifier,
            "Payload": io.BytesIO(json.dumps(answer).encode()),
        }


class FakeSageMaker:
    def __init__(self, world: World) -> None:
        self.world = world

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        for fleet in (self.world.blue_fleet, self.world.green_fleet):
            if fleet.name == EndpointName:
                return fleet.describe()
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "Could not find endpoint"}},
            "DescribeEndpoint",
        )


class MotoAutoscaling:
    """The Application Auto Scaling API on moto's model of it, called in process: moto's
    ``mock_aws`` would intercept every botocore request, the front end's runtime calls too,
    at about a millisecond each."""

    def __init__(self) -> None:
        from moto.applicationautoscaling.models import ApplicationAutoscalingBackend

        self.backend = ApplicationAutoscalingBackend("us-east-1", "123456789012")

    def register_scalable_target(self, **kwargs: Any) -> dict[str, Any]:
        self.backend.register_scalable_target(
            kwargs["ServiceNamespace"],
            kwargs["ResourceId"],
            kwargs["ScalableDimension"],
            kwargs.get("MinCapacity"),
            kwargs.get("MaxCapacity"),
            kwargs.get("RoleARN", ""),
            None,
        )
        return {}

    def describe_scalable_targets(self, **kwargs: Any) -> dict[str, Any]:
        targets = self.backend.describe_scalable_targets(
            kwargs["ServiceNamespace"], kwargs.get("ResourceIds"), kwargs.get("ScalableDimension")
        )
        return {
            "ScalableTargets": [
                {
                    "ServiceNamespace": target.service_namespace,
                    "ResourceId": target.resource_id,
                    "ScalableDimension": target.scalable_dimension,
                    "MinCapacity": target.min_capacity,
                    "MaxCapacity": target.max_capacity,
                }
                for target in targets
            ]
        }


class FlakyAutoscaling:
    """moto's Application Auto Scaling, where a restore (lowering a floor) can be made to fail."""

    def __init__(self, world: World) -> None:
        self.world = world

    def describe_scalable_targets(self, **kwargs: Any) -> Any:
        return self.world.autoscaling.describe_scalable_targets(**kwargs)

    def register_scalable_target(self, **kwargs: Any) -> Any:
        world = self.world
        if world.fail_floor_restore and kwargs["MinCapacity"] == world.min_capacity:
            raise ClientError(
                {"Error": {"Code": "ConcurrentUpdateException", "Message": "try again"}},
                "RegisterScalableTarget",
            )
        return world.autoscaling.register_scalable_target(**kwargs)
