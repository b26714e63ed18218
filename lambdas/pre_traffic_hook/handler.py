"""CodeDeploy BeforeAllowTraffic hook: may the alias start moving to the green endpoint?

It succeeds only when
1. the green endpoint (``ENDPOINT_NAME`` of the target function version) is ``InService``;
2. green can take blue's load: if blue has scaled out beyond green, green's capacity floor is
   raised to blue's current instance count (capped at ``AUTOSCALING_MAX_CAPACITY``) and the hook
   waits until green runs that many instances (the post-traffic hook lowers the floor again);
3. every request in ``SAMPLE_REQUESTS`` sent through the NEW function version is answered as
   expected, by the green endpoint.

A scale-out that outlasts one Lambda run (15 minutes) continues in a new invocation of this
hook (``deployment_hooks_common.continuation``), up to ``MAX_HOOK_SECONDS`` in all, within
CodeDeploy's one hour for a lifecycle hook.

A reverse shift (CloudFormation rolling a stack update back after the forward shift had
succeeded: the alias moves back to the OLDER version) passes at once: the old version served
all traffic minutes ago, and failing here would leave the stack in UPDATE_ROLLBACK_FAILED.

Whatever happens, the outcome is reported to CodeDeploy (see ``deployment_hooks_common``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from deployment_hooks_common import (
    AliasShift,
    Clock,
    ConfigError,
    Deadline,
    Endpoints,
    HookEvent,
    HookFailedError,
    SystemClock,
    read_deployment,
    resolve_endpoints,
    run_lifecycle_hook,
    wait_until,
)
from deployment_hooks_common.autoscaling import register_variant_capacity
from deployment_hooks_common.aws import TimeBoxedClient, bind_deadlines, client
from deployment_hooks_common.continuation import (
    DEFAULT_MAX_HOOK_SECONDS,
    MIN_ROUND_SECONDS,
    Continuation,
    hand_over,
)
from deployment_hooks_common.settings import (
    Env,
    float_or_default,
    json_value,
    optional_int,
    require_str,
)

logger = Logger()

# Time kept back from the Lambda timeout so the report to CodeDeploy is always sent.
SAFETY_MARGIN_SECONDS = 30.0
DEFAULT_CAPACITY_POLL_SECONDS = 20.0
# The front end answers within API Gateway's 29 s integration timeout; allow a little more.
INVOKE_READ_TIMEOUT_SECONDS = 35.0
ENDPOINT_HEADER = "x-sagemaker-endpoint"
IN_SERVICE = "InService"
# Statuses in which a scaling endpoint is still on its way; any other one is a failure.
SCALING_STATUSES = frozenset({IN_SERVICE, "Updating", "SystemUpdating"})
SNIPPET_CHARS = 300
HTTP_STATUSES = range(100, 600)


@dataclass(frozen=True)
class Clients:
    codedeploy: BaseClient | TimeBoxedClient
    lambda_: BaseClient | TimeBoxedClient
    sagemaker: BaseClient | TimeBoxedClient
    autoscaling: BaseClient | TimeBoxedClient


@dataclass(frozen=True)
class CapacityLimits:
    min_capacity: int
    max_capacity: int


_SAMPLE_KEYS = frozenset(
    {
        "contentType",
        "body",
        "bodyBase64",
        "accept",
        "expectStatus",
        "expectContentType",
        "expectJsonKeys",
    }
)


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value


@dataclass(frozen=True)
class SampleRequest:
    """One entry of ``SAMPLE_REQUESTS`` and what its answer must look like."""

    content_type: str
    body: str
    body_base64: bool = False
    accept: str | None = None
    expect_status: int = 200
    expect_content_type: str | None = None
    expect_json_keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, index: int, raw: Any) -> SampleRequest:
        where = f"SAMPLE_REQUESTS[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be an object")
        unknown = sorted(set(raw) - _SAMPLE_KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown keys {unknown}; allowed: {sorted(_SAMPLE_KEYS)}"
            )
        content_type = _optional_str(raw, "contentType", where)
        if content_type is None:
            raise ConfigError(f"{where}.contentType is required")
        body = raw.get("body")
        if not isinstance(body, str):
            raise ConfigError(f"{where}.body must be a string")
        body_base64 = raw.get("bodyBase64", False)
        if not isinstance(body_base64, bool):
            raise ConfigError(f"{where}.bodyBase64 must be true or false")
        if body_base64:
            try:
                base64.b64decode(body, validate=True)
            except binascii.Error:
                raise ConfigError(f"{where}.body is not valid base64") from None
        expect_status = raw.get("expectStatus", 200)
        if isinstance(expect_status, bool) or not isinstance(expect_status, int):
            raise ConfigError(f"{where}.expectStatus must be an integer")
        if expect_status not in HTTP_STATUSES:
            raise ConfigError(f"{where}.expectStatus must be an HTTP status, got {expect_status}")
        keys = raw.get("expectJsonKeys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise ConfigError(f"{where}.expectJsonKeys must be a list of non-empty strings")
        return cls(
            content_type=content_type,
            body=body,
            body_base64=body_base64,
            accept=_optional_str(raw, "accept", where),
            expect_status=expect_status,
            expect_content_type=_optional_str(raw, "expectContentType", where),
            expect_json_keys=tuple(keys),
        )


@dataclass(frozen=True)
class Settings:
    variant_name: str
    capacity: CapacityLimits | None
    samples: tuple[SampleRequest, ...]
    capacity_poll_seconds: float
    max_hook_seconds: float = DEFAULT_MAX_HOOK_SECONDS

    @classmethod
    def from_env(cls, env: Env) -> Settings:
        min_capacity = optional_int(env, "AUTOSCALING_MIN_CAPACITY", minimum=0)
        max_capacity = optional_int(env, "AUTOSCALING_MAX_CAPACITY", minimum=1)
        capacity: CapacityLimits | None = None
        if (min_capacity is None) != (max_capacity is None):
            raise ConfigError(
                "AUTOSCALING_MIN_CAPACITY and AUTOSCALING_MAX_CAPACITY must be set together"
            )
        if min_capacity is not None and max_capacity is not None:
            if max_capacity < min_capacity:
                raise ConfigError(
                    f"AUTOSCALING_MAX_CAPACITY ({max_capacity}) is below "
                    f"AUTOSCALING_MIN_CAPACITY ({min_capacity})"
                )
            capacity = CapacityLimits(min_capacity=min_capacity, max_capacity=max_capacity)

        raw_samples = json_value(env, "SAMPLE_REQUESTS")
        if not isinstance(raw_samples, list) or not raw_samples:
            raise ConfigError("SAMPLE_REQUESTS must be a non-empty JSON list")
        return cls(
            variant_name=require_str(env, "VARIANT_NAME"),
            capacity=capacity,
            samples=tuple(SampleRequest.parse(i, raw) for i, raw in enumerate(raw_samples)),
            capacity_poll_seconds=float_or_default(
                env, "CAPACITY_POLL_SECONDS", DEFAULT_CAPACITY_POLL_SECONDS, minimum=1.0
            ),
            max_hook_seconds=float_or_default(
                env, "MAX_HOOK_SECONDS", DEFAULT_MAX_HOOK_SECONDS, minimum=MIN_ROUND_SECONDS
            ),
        )


# --- capacity ---------------------------------------------------------------------------------


def _variant(description: Mapping[str, Any], variant_name: str) -> Mapping[str, Any] | None:
    variants: list[Mapping[str, Any]] = description.get("ProductionVariants", [])
    for variant in variants:
        if variant.get("VariantName") == variant_name:
            return variant
    return None


def _green_instance_count(description: Mapping[str, Any], variant_name: str) -> int:
    variant = _variant(description, variant_name)
    if variant is None:
        raise HookFailedError(
            f"green endpoint {description.get('EndpointName')} has no variant {variant_name!r}"
        )
    if "CurrentInstanceCount" not in variant:
        raise HookFailedError(
            f"green endpoint {description.get('EndpointName')} variant {variant_name!r} reports "
            "no instance count, but autoscaling limits are configured for it"
        )
    return int(variant["CurrentInstanceCount"])


def _is_missing_endpoint(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "Could not find endpoint" in str(
        details.get("Message", "")
    )


def blue_instance_count(sagemaker: BaseClient, blue: str, variant_name: str) -> int | None:
    """Blue's running instances: the variant's if blue has it, else the sum of its variants.

    None when blue is gone or runs no instances (serverless): there is nothing to match.
    """
    try:
        description = sagemaker.describe_endpoint(EndpointName=blue)
    except ClientError as exc:
        if _is_missing_endpoint(exc):
            logger.warning("blue endpoint no longer exists", extra={"blue_endpoint": blue})
            return None
        raise
    variant = _variant(description, variant_name)
    if variant is not None:
        count = variant.get("CurrentInstanceCount")
        return None if count is None else int(count)
    counts = [
        int(v["CurrentInstanceCount"])
        for v in description.get("ProductionVariants", [])
        if "CurrentInstanceCount" in v
    ]
    return sum(counts) if counts else None


@dataclass
class _Observed:
    status: str = "unknown"
    instances: int = 0


class NeedsAnotherRunError(Exception):
    """Green is still scaling out when this run's time is up, but the hook has time left."""

    def __init__(self, floor: int, observed: str) -> None:
        super().__init__(f"green still scaling out to {floor} instances ({observed})")
        self.floor = floor


def wait_for_green_capacity(
    sagemaker: BaseClient | TimeBoxedClient,
    *,
    green: str,
    variant_name: str,
    floor: int,
    run_deadline: Deadline,
    hook_deadline: Deadline,
    poll_seconds: float,
) -> None:
    """Wait until green is InService with at least ``floor`` instances.

    Raises ``NeedsAnotherRunError`` when this run's time is up first but the hook's is not
    (by at least a worthwhile round), ``HookFailedError`` when the hook's time is up.
    """
    observed = _Observed()

    def reached() -> bool:
        description = sagemaker.describe_endpoint(EndpointName=green)
        observed.status = description["EndpointStatus"]
        variant = _variant(description, variant_name) or {}
        observed.instances = int(variant.get("CurrentInstanceCount", 0))
        logger.info(
            "green capacity",
            extra={"status": observed.status, "instances": observed.instances, "floor": floor},
        )
        if observed.status not in SCALING_STATUSES:
            reason = description.get("FailureReason")
            raise HookFailedError(
                f"green endpoint {green} went {observed.status} while scaling out to {floor} "
                f"instances" + (f": {reason}" if reason else "")
            )
        return observed.status == IN_SERVICE and observed.instances >= floor

    hook_ends_first = hook_deadline.at <= run_deadline.at
    deadline = hook_deadline if hook_ends_first else run_deadline
    if wait_until(reached, deadline=deadline, interval=poll_seconds):
        return
    last_seen = f"last seen {observed.status} with {observed.instances}"
    if not hook_ends_first and hook_deadline.remaining() >= MIN_ROUND_SECONDS:
        raise NeedsAnotherRunError(floor, last_seen)
    raise HookFailedError(
        f"green endpoint {green} did not reach {floor} instances before the hook's time ran "
        f"out ({last_seen}); refusing to shift traffic to an endpoint smaller than blue"
    )


def _capacity_waiter(
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


def match_capacity(
    clients: Clients,
    *,
    endpoints: Endpoints,
    green_description: Mapping[str, Any],
    settings: Settings,
    wait: Callable[[int], None],
) -> str:
    """Make green at least as large as blue is right now (within green's maximum)."""
    limits = settings.capacity
    if limits is None:
        return "no autoscaling configured, capacity matching skipped"
    if endpoints.blue is None:
        return "no blue endpoint to match (first deployment or same endpoint)"
    variant_name = settings.variant_name
    blue_count = blue_instance_count(clients.sagemaker, endpoints.blue, variant_name)
    if blue_count is None:
        return f"blue endpoint {endpoints.blue} runs no instances to match"
    green_count = _green_instance_count(green_description, variant_name)
    if green_count >= blue_count:
        return f"green already runs {green_count} instance(s), blue {blue_count}"
    floor = min(blue_count, limits.max_capacity)
    if floor < blue_count:
        logger.warning(
            "blue runs more instances than green may scale to; capping at green's maximum",
            extra={"blue_instances": blue_count, "max_capacity": limits.max_capacity},
        )
    if green_count >= floor:
        return f"green already runs {green_count} instance(s), its maximum; blue {blue_count}"

    logger.info(
        "raising green's capacity floor to match blue",
        extra={"green_instances": green_count, "blue_instances": blue_count, "floor": floor},
    )
    register_variant_capacity(
        clients.autoscaling,
        endpoints.green,
        variant_name,
        min_capacity=floor,
        max_capacity=limits.max_capacity,
    )
    wait(floor)
    return f"raised green's capacity floor to {floor} (blue runs {blue_count}) and green reached it"


# --- sample requests ---------------------------------------------------------------------------


def proxy_event(sample: SampleRequest, *, number: int, model: str) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event for ``POST /models/<model>/invocations``.

    The API has one literal resource per model, so there are no path parameters.
    """
    path = f"/models/{model}/invocations"
    headers = {"Content-Type": sample.content_type}
    if sample.accept is not None:
        headers["Accept"] = sample.accept
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": f"pre-traffic-hook-{number}",
            "resourcePath": path,
            "path": path,
            "httpMethod": "POST",
            "stage": "pre-traffic-hook",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pre-traffic-hook"},
        },
        "body": sample.body,
        "isBase64Encoded": sample.body_base64,
    }


def _snippet(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "..."


def _response_headers(proxy: Mapping[str, Any]) -> dict[str, str]:
    """Response headers with lowercased names (``headers`` wins over ``multiValueHeaders``)."""
    headers: dict[str, str] = {}
    for name, values in (proxy.get("multiValueHeaders") or {}).items():
        if isinstance(values, list) and values:
            headers[str(name).lower()] = str(values[0])
    for name, value in (proxy.get("headers") or {}).items():
        headers[str(name).lower()] = str(value)
    return headers


def _response_body(proxy: Mapping[str, Any], where: str) -> str:
    body = proxy.get("body") or ""
    if not isinstance(body, str):
        raise HookFailedError(f"{where}: response body is not a string")
    if proxy.get("isBase64Encoded"):
        try:
            return base64.b64decode(body).decode("utf-8", errors="replace")
        except binascii.Error:
            raise HookFailedError(f"{where}: response body is not valid base64") from None
    return body


def verify_sample_response(
    response: Mapping[str, Any],
    sample: SampleRequest,
    *,
    number: int,
    shift: AliasShift,
    green: str,
) -> None:
    where = f"sample request {number} through {shift.function_name}:{shift.target_version}"
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise HookFailedError(
            f"{where}: the function failed ({response['FunctionError']}): {_snippet(payload)}"
        )
    executed = response.get("ExecutedVersion")
    if executed is not None and executed != shift.target_version:
        raise HookFailedError(f"{where}: version {executed} answered instead")
    try:
        proxy = json.loads(payload)
    except json.JSONDecodeError:
        raise HookFailedError(
            f"{where}: the answer is not a proxy response: {_snippet(payload)}"
        ) from None
    if not isinstance(proxy, dict) or "statusCode" not in proxy:
        raise HookFailedError(f"{where}: the answer has no statusCode: {_snippet(payload)}")

    body = _response_body(proxy, where)
    status = proxy["statusCode"]
    if str(status) != str(sample.expect_status):
        raise HookFailedError(
            f"{where}: status {status}, expected {sample.expect_status}: {_snippet(body)}"
        )
    headers = _response_headers(proxy)
    answered_by = headers.get(ENDPOINT_HEADER)
    if answered_by != green:
        raise HookFailedError(
            f"{where}: answered by endpoint {answered_by!r} ({ENDPOINT_HEADER} header), "
            f"expected green {green!r}"
        )
    content_type = headers.get("content-type", "")
    if sample.expect_content_type and not content_type.lower().startswith(
        sample.expect_content_type.lower()
    ):
        raise HookFailedError(
            f"{where}: content type {content_type!r}, expected {sample.expect_content_type!r}"
        )
    if sample.expect_json_keys:
        try:
            document = json.loads(body)
        except json.JSONDecodeError:
            raise HookFailedError(f"{where}: body is not JSON: {_snippet(body)}") from None
        if not isinstance(document, dict):
            raise HookFailedError(f"{where}: body is not a JSON object: {_snippet(body)}")
        missing = [key for key in sample.expect_json_keys if key not in document]
        if missing:
            raise HookFailedError(f"{where}: body lacks keys {missing}: {_snippet(body)}")


def send_sample_requests(
    lambda_client: BaseClient | TimeBoxedClient,
    *,
    shift: AliasShift,
    endpoints: Endpoints,
    settings: Settings,
    deadline: Deadline,
) -> str:
    green = endpoints.green
    model = endpoints.model_name or shift.function_name
    for number, sample in enumerate(settings.samples, start=1):
        if deadline.remaining() < INVOKE_READ_TIMEOUT_SECONDS:
            raise HookFailedError(
                f"not enough time left to send sample request {number} before the hook's own "
                "timeout; raise the pre-traffic hook's Lambda timeout"
            )
        response = lambda_client.invoke(
            FunctionName=shift.function_name,
            Qualifier=shift.target_version,
            Payload=json.dumps(proxy_event(sample, number=number, model=model)).encode(),
        )
        verify_sample_response(response, sample, number=number, shift=shift, green=green)
        logger.info("sample request answered as expected", extra={"sample": number})
    return (
        f"{len(settings.samples)} sample request(s) through version {shift.target_version} "
        f"answered correctly by {green}"
    )


# --- the hook ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """This run of the hook: its event (handed on to a continuation), its own ARN, and its
    place among the runs of one lifecycle event."""

    event: Mapping[str, Any]
    function_arn: str
    continuation: Continuation
    run_deadline: Deadline


def check_pre_traffic(
    deployment_id: str, *, clients: Clients, settings: Settings, invocation: Invocation
) -> str:
    deployment = read_deployment(clients.codedeploy, deployment_id)
    endpoints = resolve_endpoints(clients.lambda_, deployment.shift)
    if deployment.shift.is_reverse:
        return (
            f"reverse shift back to version {deployment.shift.target_version} (endpoint "
            f"{endpoints.green}): CloudFormation is rolling the stack back; passes unchecked"
        )
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
    wait = _capacity_waiter(
        clients,
        green=endpoints.green,
        settings=settings,
        run_deadline=run_deadline,
        hook_deadline=invocation.continuation.total_deadline(CLOCK, settings.max_hook_seconds),
    )
    try:
        if raised_floor is None:
            capacity = match_capacity(
                clients,
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


CLIENTS = Clients(
    codedeploy=client("codedeploy"),
    lambda_=client("lambda", read_timeout=INVOKE_READ_TIMEOUT_SECONDS),
    sagemaker=client("sagemaker"),
    autoscaling=client("application-autoscaling"),
)
CLOCK: Clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str | None]:
    deadline = Deadline.from_context(context, CLOCK, SAFETY_MARGIN_SECONDS)
    bind_deadlines(CLIENTS, deadline, report_margin=SAFETY_MARGIN_SECONDS)

    def check(hook: HookEvent) -> str:
        settings = Settings.from_env(os.environ)
        invocation = Invocation(
            event=event,
            function_arn=context.invoked_function_arn,
            continuation=Continuation.from_event(event, CLOCK),
            run_deadline=deadline,
        )
        return check_pre_traffic(
            hook.deployment_id, clients=CLIENTS, settings=settings, invocation=invocation
        )

    result = run_lifecycle_hook(event, codedeploy=CLIENTS.codedeploy, check=check, logger=logger)
    return result.as_dict()
