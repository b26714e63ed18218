"""The pre-traffic check of one deployment: green InService, as large as blue, and answering
every sample request correctly through the new version; a scale-out that outlasts this run
is handed over to the next one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient
from deployment_hooks_common import (
    Clock,
    Deadline,
    HookFailedError,
    read_deployment,
    resolve_endpoints,
    reverse_shift_summary,
)
from deployment_hooks_common.aws import TimeBoxedClient
from deployment_hooks_common.continuation import Continuation, hand_over

from pre_traffic.capacity import (
    IN_SERVICE,
    NeedsAnotherRunError,
    match_capacity,
    wait_for_green_capacity,
)
from pre_traffic.samples import INVOKE_READ_TIMEOUT_SECONDS, send_sample_requests
from pre_traffic.settings import Settings


@dataclass(frozen=True)
class Clients:
    codedeploy: BaseClient | TimeBoxedClient
    lambda_: BaseClient | TimeBoxedClient
    sagemaker: BaseClient | TimeBoxedClient
    autoscaling: BaseClient | TimeBoxedClient


def capacity_waiter(
    clients: Clients,
    *,
    green: str,
    settings: Settings,
    run_deadline: Deadline,
    hook_deadline: Deadline,
) -> Callable[[int], None]:
    """Waits for green to reach a floor, stopping early enough that every sample request can
    still take its full timeout."""
    keep_for_samples = len(settings.samples) * INVOKE_READ_TIMEOUT_SECONDS

    def wait(floor: int) -> None:
        wait_for_green_capacity(
            clients.sagemaker,
            green=green,
            variant_name=settings.variant_name,
            floor=floor,
            run_deadline=run_deadline.earlier_by(keep_for_samples),
            hook_deadline=hook_deadline.earlier_by(keep_for_samples),
            poll_seconds=settings.capacity_poll_seconds,
        )

    return wait


@dataclass(frozen=True)
class Invocation:
    """This run of the hook: its event (handed on to a continuation), its own ARN, its place
    among the runs of one lifecycle event, and the clock it keeps time by."""

    event: Mapping[str, Any]
    function_arn: str
    continuation: Continuation
    run_deadline: Deadline
    clock: Clock


def check_pre_traffic(
    deployment_id: str, *, clients: Clients, settings: Settings, invocation: Invocation
) -> str:
    deployment = read_deployment(clients.codedeploy, deployment_id)
    endpoints = resolve_endpoints(clients.lambda_, deployment.shift)
    reverse = reverse_shift_summary(deployment.shift, endpoints)
    if reverse is not None:
        return reverse
    green_description = clients.sagemaker.describe_endpoint(EndpointName=endpoints.green)
    status = green_description["EndpointStatus"]
    raised_floor = invocation.continuation.state.get("floor")
    # A later run finds green Updating while it scales out: the wait below judges that.
    if status != IN_SERVICE and raised_floor is None:
        reason = green_description.get("FailureReason")
        raise HookFailedError(
            f"green endpoint {endpoints.green} is {status}, not {IN_SERVICE}"
            + (f": {reason}" if reason else "")
        )
    run_deadline = invocation.run_deadline
    continuation = invocation.continuation
    wait = capacity_waiter(
        clients,
        green=endpoints.green,
        settings=settings,
        run_deadline=run_deadline,
        hook_deadline=continuation.total_deadline(invocation.clock, settings.max_hook_seconds),
    )
    try:
        if raised_floor is None:
            capacity = match_capacity(
                clients.sagemaker,
                clients.autoscaling,
                endpoints=endpoints,
                green_description=green_description,
                settings=settings,
                wait=wait,
            )
        else:
            wait(int(raised_floor))
            capacity = f"green reached the capacity floor {raised_floor} set by an earlier run"
    except NeedsAnotherRunError as waiting:
        hand_over(
            clients.lambda_,
            function_arn=invocation.function_arn,
            event=invocation.event,
            continuation=invocation.continuation,
            state={"floor": waiting.floor},
            reason=str(waiting),
        )
    samples = send_sample_requests(
        clients.lambda_,
        shift=deployment.shift,
        endpoints=endpoints,
        settings=settings,
        deadline=run_deadline,
    )
    return f"green endpoint {endpoints.green} is {IN_SERVICE}; {capacity}; {samples}"
