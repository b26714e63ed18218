"""Per-environment configuration: data in ``infra/environments/<name>.json``, validated at synth.

Adding an environment is adding a file: ``staging.json`` becomes ``StagingStack``. Every file is
validated before any stack is built, so a bad file fails synth with one message that names the
environment, the model, the field and the fix, and nothing is synthesized.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from safe_sagemaker.api_rules import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    DEFAULT_CONTENT_TYPES,
    WAF_MANAGED_RULE_GROUPS,
    WAF_MIN_RATE_LIMIT,
    check_media_type,
    check_media_types,
    web_acl_region,
)
from safe_sagemaker.config_messages import describe_error
from safe_sagemaker.deployment_configs import (
    HOOK_TIMEOUT_SECONDS,
    NON_PRODUCTION_DEFAULT,
    PRODUCTION_DEFAULT,
    check_deployment_config,
)
from safe_sagemaker.endpoint_update_policy import (
    EXCLUDED_FAMILIES,
    MAX_EXECUTION_TIMEOUT_SECONDS,
    MAX_WAIT_SECONDS,
    MIN_EXECUTION_TIMEOUT_SECONDS,
    CapacitySize,
    EndpointUpdatePolicy,
    Mode,
    PolicyError,
)
from safe_sagemaker.iam_patterns import fingerprinted_name_pattern
from safe_sagemaker.instance_types import check_instance_type, instance_family, is_burstable
from safe_sagemaker.log_retention import ALLOWED_DAYS

# The environment files of a project laid out like this repository, relative to the working
# directory (where `cdk` and `safe-sagemaker` run). They are the app's data, not the
# library's: an app passes its own folder.
ENVIRONMENTS_DIR = Path("infra", "environments")
# CDK context key naming another folder of environment files
# (``-c safe-sagemaker:environments=DIR``):
# how ``safe-sagemaker drill`` deploys an overlay without touching the files in the repository.
ENVIRONMENTS_CONTEXT = "safe-sagemaker:environments"

# SageMaker endpoint names: 1-63 characters, alphanumerics and hyphens, no leading or trailing
# hyphen. We also require lowercase because SageMaker lowercases names in ARNs and the IAM
# policies below match ARNs literally.
ENDPOINT_NAME_MAX_LENGTH = 63
FINGERPRINT_LENGTH = 8
_NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_S3_URI_PATTERN = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)$")
_IMAGE_PATTERN = re.compile(
    r"^(?P<registry>[a-z0-9.-]+(?::[0-9]+)?)/(?P<repository>[a-z0-9._/-]+)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_ECR_REGISTRY_PATTERN = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(Exception):
    """A configuration file is invalid. The message names the file's field and the fix."""


class _Strict(BaseModel):
    # Unknown keys are typos until proven otherwise; frozen so constructs cannot mutate config;
    # strict so that "true" is not taken for true nor "2" for 2 (a quoted "production": "true"
    # once passed as a silent non-production environment).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ImageUri(_Strict):
    """A parsed container image reference."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def ecr_account(self) -> str | None:
        match = _ECR_REGISTRY_PATTERN.match(self.registry)
        return match.group("account") if match else None

    @property
    def ecr_region(self) -> str | None:
        match = _ECR_REGISTRY_PATTERN.match(self.registry)
        return match.group("region") if match else None

    @property
    def is_pinned(self) -> bool:
        return self.digest is not None or (self.tag is not None and self.tag != "latest")


def parse_image_uri(uri: str) -> ImageUri:
    match = _IMAGE_PATTERN.match(uri)
    if match is None:
        raise ValueError(
            f"{uri!r} is not a container image reference; "
            "use <registry>/<repository>:<tag>, e.g. "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-serving:v2.1.0"
        )
    return ImageUri(**match.groupdict())


_MODEL_PACKAGE_ARN_PATTERN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"model-package/(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(?P<version>[0-9]+)$"
)


_UNVERSIONED_PACKAGE_ARN_PATTERN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[^/]+$"
)


def parse_model_package_arn(arn: str) -> dict[str, str]:
    """Region, account, group and version of a VERSIONED model package ARN."""
    match = _MODEL_PACKAGE_ARN_PATTERN.match(arn)
    if match is None and _UNVERSIONED_PACKAGE_ARN_PATTERN.match(arn):
        raise ValueError(
            f"{arn!r} names no package version: it is a package group or an AWS Marketplace "
            "model package. Marketplace packages are not served here (SageMaker's deployment "
            "guardrails do not support Marketplace containers: it would update the endpoint "
            "all at once with no bake); name a version of your own registry, "
            "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"
        )
    if match is None:
        raise ValueError(
            f"{arn!r} is not a versioned model package ARN; use "
            "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>, e.g. "
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/3 (a "
            "package group's ARN names no version, so it would not pin what is deployed)"
        )
    return match.groupdict()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI_PATTERN.match(uri)
    if match is None or match.group("key").endswith("/"):
        raise ValueError(
            f"{uri!r} is not an S3 object URI; use s3://<bucket>/<key>, "
            "e.g. s3://ml-models-prod/fraud-detector/v2/model.tar.gz"
        )
    return match.group("bucket"), match.group("key")


class AutoscalingConfig(_Strict):
    """Target tracking on SageMakerVariantInvocationsPerInstance.

    Give either ``target_invocations_per_instance`` or a load-tested
    ``max_requests_per_second`` (per instance) with a ``safety_factor``; AWS's formula then gives
    the target: max_requests_per_second x safety_factor x 60 (invocations per instance a minute).
    """

    min_capacity: int = Field(default=1, ge=1)
    max_capacity: int = Field(ge=1)
    target_invocations_per_instance: int | None = Field(default=None, gt=0)
    max_requests_per_second: float | None = Field(default=None, gt=0)
    safety_factor: float = Field(default=0.5, gt=0, le=1)
    scale_in_cooldown_seconds: int = Field(default=300, ge=0)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _check(self) -> AutoscalingConfig:
        given = (self.target_invocations_per_instance, self.max_requests_per_second)
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "set exactly one of target_invocations_per_instance or max_requests_per_second "
                "(the load-tested maximum per instance, combined with safety_factor)"
            )
        return self

    @property
    def target_value(self) -> int:
        if self.target_invocations_per_instance is not None:
            return self.target_invocations_per_instance
        assert self.max_requests_per_second is not None
        return max(1, round(self.max_requests_per_second * self.safety_factor * 60))


# SageMaker's documented limits: at most 200 concurrent invocations per serverless endpoint.
SERVERLESS_MAX_CONCURRENCY = 200
# Cold starts of a serverless endpoint: the default p99 ModelSetupTime alarm threshold (ms).
SERVERLESS_MODEL_SETUP_TIME_P99_MS = 10000


class ServerlessConfig(_Strict):
    """SageMaker Serverless Inference instead of instances: memory per worker, the concurrency
    cap and, optionally, provisioned (pre-warmed) concurrency. Part of the fingerprint.

    Autoscaling of provisioned concurrency (Application Auto Scaling on
    ``SageMakerVariantProvisionedConcurrencyUtilization``) is not built: it is fixed here."""

    memory_size_mb: int = Field(default=2048)
    max_concurrency: int = Field(default=5, ge=1, le=SERVERLESS_MAX_CONCURRENCY)
    provisioned_concurrency: int | None = Field(default=None, ge=1)

    @field_validator("memory_size_mb")
    @classmethod
    def _memory(cls, value: int) -> int:
        allowed = (1024, 2048, 3072, 4096, 5120, 6144)
        if value not in allowed:
            raise ValueError(f"memory_size_mb must be one of {allowed}, not {value}")
        return value

    @model_validator(mode="after")
    def _provisioned(self) -> ServerlessConfig:
        provisioned = self.provisioned_concurrency
        if provisioned is not None and provisioned > self.max_concurrency:
            raise ValueError(
                f"provisioned_concurrency ({provisioned}) exceeds max_concurrency "
                f"({self.max_concurrency}); lower it or raise max_concurrency"
            )
        return self


class _AlarmWindow(_Strict):
    """How long a threshold must be breached: the period, the periods evaluated, and how many
    of them must breach."""

    period_seconds: int = Field(default=60)
    evaluation_periods: int = Field(default=3, gt=0)
    datapoints_to_alarm: int = Field(default=2, gt=0)

    @model_validator(mode="after")
    def _check_window(self) -> _AlarmWindow:
        if self.period_seconds not in (10, 30) and self.period_seconds % 60 != 0:
            raise ValueError("period_seconds must be 10, 30 or a multiple of 60")
        if self.period_seconds <= 0:
            raise ValueError("period_seconds must be positive")
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("datapoints_to_alarm must not exceed evaluation_periods")
        return self


class AlarmThresholds(_AlarmWindow):
    """Endpoint alarm thresholds. Every value must be positive."""

    invocation_5xx_errors: int = Field(default=5, gt=0)
    invocation_4xx_errors: int = Field(default=50, gt=0)
    model_latency_p99_ms: int = Field(default=1000, gt=0)
    overhead_latency_p99_ms: int = Field(default=200, gt=0)
    # Serverless only (cold starts): default SERVERLESS_MODEL_SETUP_TIME_P99_MS there.
    model_setup_time_p99_ms: int | None = Field(default=None, gt=0)


# Lambda's default account concurrency is 1000, of which 100 must stay unreserved: what the
# front ends of one environment may reserve together.
MAX_RESERVED_CONCURRENCY = 900
# An opt-out reason must say something a reviewer can check, not "n/a".
MIN_OPT_OUT_REASON = 20


class NetworkIsolationConfig(_Strict):
    """``EnableNetworkIsolation`` on the model's SageMaker Model: the serving container gets no
    network (no internet, no AWS APIs) while it handles every request. On by default for
    instance-hosted models; serverless endpoints do not support it (off, and it cannot be
    turned on). Turning it off needs a ``reason`` (kept in the config for review).
    Part of the fingerprint: switching it deploys a new (green) endpoint."""

    enabled: bool = True
    reason: str | None = None

    @model_validator(mode="after")
    def _reasoned(self) -> NetworkIsolationConfig:
        reason = (self.reason or "").strip()
        if not self.enabled and len(reason) < MIN_OPT_OUT_REASON:
            raise ValueError(
                "turning network isolation off needs a reason of at least "
                f"{MIN_OPT_OUT_REASON} characters saying what the container must reach "
                '(e.g. "reads features from the feature store at inference")'
            )
        return self


# SageMaker's VpcConfig (and Lambda's) takes 1-16 subnets and 1-5 security groups.
MAX_VPC_SUBNETS = 16
MAX_VPC_SECURITY_GROUPS = 5
# EC2 ids: a prefix and 8 (older resources) or 17 hex digits.
_VPC_ID_PREFIXES = {
    "vpc_id": "vpc-",
    "subnet_ids": "subnet-",
    "security_group_ids": "sg-",
    "route_table_ids": "rtb-",
}


class VpcConfig(_Strict):
    """An existing VPC the environment runs in (imported by id: synth makes no lookup).
    Instance-hosted models get it as their ``VpcConfig`` (part of their fingerprint); the Lambda
    functions run in its subnets with its security groups. ``create_endpoints`` adds interface
    endpoints for the AWS APIs the functions and SageMaker call, and an S3 gateway endpoint on
    ``route_table_ids``; set it false when the VPC already has them (or a NAT). The subnet and
    security group rules are checked with the environment (``_check_vpc``)."""

    vpc_id: str
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    # The subnets' route tables, for the S3 gateway endpoint (only with create_endpoints).
    route_table_ids: list[str] = Field(default_factory=list)
    create_endpoints: bool = True

    @field_validator("vpc_id", "subnet_ids", "security_group_ids", "route_table_ids")
    @classmethod
    def _ids(cls, value: Any, info: ValidationInfo) -> Any:
        prefix = _VPC_ID_PREFIXES[str(info.field_name)]
        for item in [value] if isinstance(value, str) else value:
            if not re.fullmatch(rf"{prefix}(?:[0-9a-f]{{8}}|[0-9a-f]{{17}})", item):
                raise ValueError(
                    f"{item!r} is not an id of the form {prefix}<8 or 17 hex digits>, e.g. "
                    f"{prefix}0123456789abcdef0"
                )
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError("an id is listed twice; list each once")
        return value


class DataCaptureConfig(_Strict):
    """SageMaker data capture of one model's endpoint: requests and responses, to the
    environment's capture bucket under ``datacapture/<endpoint-name>/``.

    Default by environment (when the block is absent): on at 100% in a production environment,
    off elsewhere, and off for serverless models, which SageMaker cannot capture. Part of the
    fingerprint: changing it deploys a new endpoint config, so a new (green) endpoint.
    """

    enabled: bool = True
    sampling_percentage: int = Field(default=100, ge=1, le=100)
    json_content_types: list[str] = Field(
        default_factory=lambda: ["application/json"], max_length=10
    )
    csv_content_types: list[str] = Field(default_factory=lambda: ["text/csv"], max_length=10)

    @field_validator("json_content_types", "csv_content_types")
    @classmethod
    def _media_types(cls, value: list[str]) -> list[str]:
        return check_media_types(value)

    @model_validator(mode="after")
    def _disjoint(self) -> DataCaptureConfig:
        both = sorted(set(self.json_content_types) & set(self.csv_content_types))
        if both:
            raise ValueError(f"{both} listed as both JSON and CSV; keep each in one list")
        if not (self.json_content_types or self.csv_content_types):
            raise ValueError("list at least one JSON or CSV content type to capture")
        return self


class MonitoringConfig(_Strict):
    """Hourly SageMaker Model Monitor data-quality checks of the captured traffic against a
    baseline (``statistics.json`` and ``constraints.json`` of a baselining job; the README says
    how to produce them). Requires data capture. Not fingerprinted: it never touches the
    endpoint config.
    """

    baseline_statistics_uri: str
    baseline_constraints_uri: str
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = Field(default=20, ge=1, le=512)
    # The schedule is hourly: a run must end before the next one starts.
    max_runtime_minutes: int = Field(default=30, ge=1, le=59)

    @field_validator("baseline_statistics_uri", "baseline_constraints_uri")
    @classmethod
    def _s3_object(cls, value: str) -> str:
        parse_s3_uri(value)
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        return check_instance_type(value, use="processing")


# The canary passes every request body in Lambda environment variables, 4 KB in all.
CANARY_BODY_MAX_BYTES = 1024
CANARY_BODIES_MAX_BYTES = 3072


class CanaryRequest(_Strict):
    """The request the Synthetics canary sends to a model's API route; any 2xx answer passes."""

    content_type: str = "application/json"
    body: str = Field(min_length=1)

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value: str) -> str:
        return check_media_type(value)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        size = len(value.encode())
        if size > CANARY_BODY_MAX_BYTES:
            raise ValueError(
                f"canary body is {size} bytes; keep it under {CANARY_BODY_MAX_BYTES} (one small "
                "representative record is enough to prove the route answers)"
            )
        return value


# The pre-traffic hook reads its samples from one environment variable, and a function's
# variables share 4 KB; this leaves room for the others.
SAMPLE_REQUESTS_MAX_BYTES = 3072
# The post-traffic hook keeps back a minute of its time to restore capacity and report.
METRICS_WAIT_MAX_SECONDS = HOOK_TIMEOUT_SECONDS - 60


class SampleRequest(_Strict):
    """A request the pre-traffic hook sends through the new front-end version before any traffic
    moves, and the answer it must get. ``body`` is text, or base64 with ``body_base64``."""

    content_type: str = "application/json"
    body: str
    body_base64: bool = False
    accept: str | None = None
    expect_status: int = Field(default=200, ge=100, le=599)
    expect_content_type: str | None = None
    expect_json_keys: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value: str) -> str:
        return check_media_type(value)

    @field_validator("expect_json_keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        if not all(value):
            raise ValueError("expect_json_keys must not hold empty strings")
        return value

    @model_validator(mode="after")
    def _base64(self) -> SampleRequest:
        if self.body_base64:
            try:
                base64.b64decode(self.body, validate=True)
            except binascii.Error:
                raise ValueError("body_base64 is true but body is not valid base64") from None
        return self

    def hook_json(self) -> dict[str, Any]:
        """The form the pre-traffic hook reads from ``SAMPLE_REQUESTS`` (camelCase keys)."""
        optional = {
            "bodyBase64": self.body_base64 or None,
            "accept": self.accept,
            "expectContentType": self.expect_content_type,
            "expectJsonKeys": self.expect_json_keys or None,
        }
        return {
            "contentType": self.content_type,
            "body": self.body,
            "expectStatus": self.expect_status,
            **{key: value for key, value in optional.items() if value is not None},
        }


# Used when a model configures neither sample requests nor a canary request: a minimal JSON
# request that exercises API route, front end, endpoint and container parsing end to end.
DEFAULT_SAMPLE_REQUEST = SampleRequest(
    content_type="application/json",
    body='{"instances": []}',
    accept="application/json",
    expect_status=200,
)


class RollbackAlarmThresholds(_AlarmWindow):
    """Alarms that stop a blue/green shift and roll it back. Each watches only what is new: the
    green endpoint (by its literal name), the new front-end version (``ExecutedVersion``) and
    the new model version's front-end metrics (``ModelVersion`` = fingerprint). They judge
    error RATIOS, and only in a period with at least ``min_requests`` requests: a count is
    blind at 10% of a quiet API and trips on a busy one for a tiny error rate.

    The window defaults to one one-minute period, so a bad minute stops even a short canary.
    """

    evaluation_periods: int = Field(default=1, gt=0)
    datapoints_to_alarm: int = Field(default=1, gt=0)
    max_error_ratio: float = Field(default=0.02, gt=0, lt=1)
    min_requests: int = Field(default=3, ge=1)
    # Default: the model's alarms.model_latency_p99_ms, one latency budget per model.
    model_latency_p99_ms: int | None = Field(default=None, gt=0)


DeploymentStrategy = Literal["frontend-alias", "endpoint-guardrails"]
# Where SageMaker's container products live: AWS Marketplace's registry account.
MARKETPLACE_REGISTRY_ACCOUNTS = frozenset({"709825985650"})


class CapacitySizeConfig(_Strict):
    """A step of an endpoint-native update: ``CAPACITY_PERCENT`` of the variant's instances or an
    ``INSTANCE_COUNT``."""

    type: Literal["CAPACITY_PERCENT", "INSTANCE_COUNT"] = "CAPACITY_PERCENT"
    value: int = Field(ge=1)

    def size(self) -> CapacitySize:
        return CapacitySize(type=self.type, value=self.value)


class GuardrailsSettings(_Strict):
    """SageMaker's own in-place update of the endpoint (``strategy`` ``endpoint-guardrails``).

    ``mode``: ``canary`` (``canary_size``, default 10%, then the rest), ``linear``
    (``linear_step_size``), ``all-at-once`` or ``rolling`` (``maximum_batch_size``,
    ``rollback_maximum_batch_size``). Each step bakes ``wait_interval_seconds`` while the rollback
    alarms watch. ``auto_rollback`` false leaves the update without rollback alarms (to push a
    fix while the live model itself trips them). Not fingerprinted.
    """

    mode: Mode = "canary"
    canary_size: CapacitySizeConfig | None = None
    linear_step_size: CapacitySizeConfig | None = None
    maximum_batch_size: CapacitySizeConfig | None = None
    rollback_maximum_batch_size: CapacitySizeConfig | None = None
    wait_interval_seconds: int = Field(default=300, ge=0, le=MAX_WAIT_SECONDS)
    termination_wait_seconds: int | None = Field(default=None, ge=0, le=MAX_WAIT_SECONDS)
    maximum_execution_timeout_seconds: int | None = Field(
        default=None, ge=MIN_EXECUTION_TIMEOUT_SECONDS, le=MAX_EXECUTION_TIMEOUT_SECONDS
    )
    auto_rollback: bool = True

    @model_validator(mode="after")
    def _policy(self) -> GuardrailsSettings:
        self.policy()  # raises on a field that does not fit the mode
        return self

    def policy(self) -> EndpointUpdatePolicy:
        """The update policy, with the canary's default size of 10%."""
        canary = self.canary_size.size() if self.canary_size else None
        if self.mode == "canary" and canary is None:
            canary = CapacitySize("CAPACITY_PERCENT", 10)

        def size(value: CapacitySizeConfig | None) -> CapacitySize | None:
            return value.size() if value else None

        return EndpointUpdatePolicy(
            mode=self.mode,
            wait_interval_seconds=self.wait_interval_seconds,
            canary_size=canary,
            linear_step_size=size(self.linear_step_size),
            maximum_batch_size=size(self.maximum_batch_size),
            rollback_maximum_batch_size=size(self.rollback_maximum_batch_size),
            termination_wait_seconds=self.termination_wait_seconds,
            maximum_execution_timeout_seconds=self.maximum_execution_timeout_seconds,
        )


# Endpoint-native defaults when a model gives no ``deployment.guardrails``: a 10% canary in a
# production environment, all at once elsewhere and for serverless models; both bake 5 minutes
# (the post-traffic hook's default wait under frontend-alias).
PRODUCTION_GUARDRAILS = GuardrailsSettings()
NON_PRODUCTION_GUARDRAILS = GuardrailsSettings(mode="all-at-once")


class DeploymentSettings(_Strict):
    """How a new version of the model (a new fingerprint) is shifted in and checked.

    ``strategy``: ``frontend-alias`` (a new endpoint and a CodeDeploy shift of the front end's
    alias) or ``endpoint-guardrails`` (SageMaker updates one stable endpoint in place, see
    ``GuardrailsSettings``). Default: the environment's ``deployment_strategy``.

    ``config``: a CodeDeploy Lambda deployment configuration such as ``Canary10Percent5Minutes``
    (see ``safe_sagemaker.deployment_configs``). Default: the environment's ``deployment_config``.
    ``sample_requests``: what the pre-traffic hook sends through the new version. Default: the
    model's ``canary_request`` expecting a 200, else a minimal JSON request.
    ``min_invocations``: invocations of green (since the deployment started) after which the
    post-traffic hook decides without waiting out ``metrics_wait_seconds``. The pre-traffic
    hook's samples count too, so the default is one more than their number. Fewer is not a
    failure: on a quiet API the hook judges what arrived once the wait is over.
    ``max_5xx_ratio``: the share of green's invocations that may have failed with a 5xx.
    ``metrics_wait_seconds``: how long the post-traffic hook waits for CloudWatch to show that.

    None of these settings is fingerprinted: tuning them never creates a new endpoint.
    """

    strategy: DeploymentStrategy | None = None
    guardrails: GuardrailsSettings | None = None
    config: str | None = None
    sample_requests: list[SampleRequest] | None = Field(default=None, min_length=1, max_length=10)
    min_invocations: int | None = Field(default=None, ge=1)
    max_5xx_ratio: float = Field(default=0.01, ge=0, le=1)
    metrics_wait_seconds: int = Field(default=300, ge=60, le=METRICS_WAIT_MAX_SECONDS)
    rollback_alarms: RollbackAlarmThresholds = Field(default_factory=RollbackAlarmThresholds)

    @field_validator("config")
    @classmethod
    def _config(cls, value: str | None) -> str | None:
        return None if value is None else check_deployment_config(value)


class ModelConfig(_Strict):
    """One served model: its image and artifact, how it is hosted, scaled and watched."""

    name: str = Field(min_length=1)
    # Either image_uri + model_data_url, or a versioned Model Registry package.
    image_uri: str | None = None
    model_data_url: str | None = None
    model_package_arn: str | None = None
    instance_type: str = "ml.c5.xlarge"
    initial_instance_count: int = Field(default=1, ge=1)
    variant_name: str = "primary"
    container_environment: dict[str, str] = Field(default_factory=dict)
    serverless: ServerlessConfig | None = None
    # None: on, except for a serverless model (which SageMaker does not isolate).
    network_isolation: NetworkIsolationConfig | None = None
    # Concurrent executions reserved for (and capping) the model's front-end function.
    reserved_concurrency: int | None = Field(default=None, ge=1, le=MAX_RESERVED_CONCURRENCY)
    autoscaling: AutoscalingConfig | None = None
    alarms: AlarmThresholds = Field(default_factory=AlarmThresholds)
    # Request media types the model's API route accepts; the front end answers 415 to any
    # other. Non-text types reach it base64-encoded (binary media types of the API).
    allowed_content_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CONTENT_TYPES), min_length=1, max_length=20
    )
    # Off when the model is built alone; EnvironmentConfig fills in its environment's default.
    data_capture: DataCaptureConfig = Field(
        default_factory=lambda: DataCaptureConfig(enabled=False)
    )
    monitoring: MonitoringConfig | None = None
    canary_request: CanaryRequest | None = None
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)

    @field_validator("name", "variant_name")
    @classmethod
    def _lowercase_name(cls, value: str) -> str:
        if not _NAME_PATTERN.match(value):
            raise ValueError(
                f"{value!r} must be lowercase letters, digits and inner hyphens "
                "(e.g. fraud-detector)"
            )
        return value

    @field_validator("allowed_content_types")
    @classmethod
    def _content_types(cls, value: list[str]) -> list[str]:
        return check_media_types(value)

    @field_validator("image_uri")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        if value is not None:
            parse_image_uri(value)
        return value

    @field_validator("model_data_url")
    @classmethod
    def _model_data(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3_uri(value)
        return value

    @field_validator("model_package_arn")
    @classmethod
    def _model_package(cls, value: str | None) -> str | None:
        if value is not None:
            parse_model_package_arn(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        artifact = (self.image_uri is not None, self.model_data_url is not None)
        package = self.model_package_arn is not None
        if package == any(artifact) or (not package and not all(artifact)):
            raise ValueError(
                "name the model either by image_uri and model_data_url together, or by "
                "model_package_arn alone (a versioned Model Registry package), not both or "
                "neither"
            )
        return self

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        return check_instance_type(value, use="hosting")

    @model_validator(mode="after")
    def _isolation_hosting(self) -> ModelConfig:
        if (
            self.serverless is not None
            and self.network_isolation
            and self.network_isolation.enabled
        ):
            raise ValueError(
                "network_isolation: serverless endpoints do not support network isolation; "
                "remove network_isolation or host the model on instances"
            )
        return self

    @property
    def network_isolated(self) -> bool:
        """Whether the Model gets ``EnableNetworkIsolation``."""
        if self.network_isolation is None:
            return self.serverless is None
        return self.network_isolation.enabled

    @property
    def image(self) -> ImageUri | None:
        """The parsed image; None for a model package."""
        return None if self.image_uri is None else parse_image_uri(self.image_uri)

    @property
    def pre_traffic_samples(self) -> list[SampleRequest]:
        """What the pre-traffic hook sends through a new version (see DeploymentSettings)."""
        if self.deployment.sample_requests:
            return self.deployment.sample_requests
        if self.canary_request is not None:
            request = self.canary_request
            return [SampleRequest(content_type=request.content_type, body=request.body)]
        return [DEFAULT_SAMPLE_REQUEST]

    @property
    def canary_sample(self) -> CanaryRequest:
        """What the Synthetics canary sends: ``canary_request``, else the first text (not base64)
        pre-traffic sample, else the default sample request."""
        if self.canary_request is not None:
            return self.canary_request
        text = [sample for sample in self.pre_traffic_samples if not sample.body_base64]
        sample = text[0] if text else DEFAULT_SAMPLE_REQUEST
        # Already validated as a SampleRequest; the environment check bounds the total size.
        return CanaryRequest.model_construct(content_type=sample.content_type, body=sample.body)

    @property
    def post_traffic_min_invocations(self) -> int:
        """Invocations green must have served for the post-traffic hook to pass."""
        configured = self.deployment.min_invocations
        return configured if configured is not None else len(self.pre_traffic_samples) + 1

    def fingerprint(self, *, vpc: VpcConfig | None = None) -> str:
        """A short hash of everything that defines the served model and its endpoint config,
        with ``vpc``, the Model's VPC (``EnvironmentConfig.fingerprint`` gives the
        environment's).

        It becomes part of the literal endpoint name, so any change to these settings creates a
        new (green) endpoint and a new front-end Lambda version, which CodeDeploy shifts to.
        Settings that do not touch the endpoint (alarms, autoscaling) are left out so that
        tuning them updates in place.
        """
        excluded = set(_NOT_FINGERPRINTED)
        if self.serverless is not None:
            # Serverless endpoints have no instances: the serverless block is what counts.
            excluded |= {"instance_type", "initial_instance_count"}
        served = self.model_dump(exclude=excluded, mode="json")
        # Absent source fields are left out, so adding model_package_arn did not change the
        # fingerprints (and endpoint names) of existing image-based models.
        for source in ("image_uri", "model_data_url", "model_package_arn"):
            if served[source] is None:
                del served[source]
        if self.serverless is not None and self.serverless.provisioned_concurrency is None:
            del served["serverless"]["provisioned_concurrency"]
        # What reaches the Model is the flag, not the opt-out's reason; a model without it
        # keeps the fingerprint it had before the setting existed.
        del served["network_isolation"]
        if self.network_isolated:
            served["network_isolated"] = True
        # Only what reaches the Model's VpcConfig; without a VPC the fingerprint (hence the
        # endpoint name) is the one it had before the setting existed.
        if vpc is not None:
            served["vpc"] = {
                "subnet_ids": sorted(vpc.subnet_ids),
                "security_group_ids": sorted(vpc.security_group_ids),
            }
        digest = hashlib.sha256(json.dumps(served, sort_keys=True).encode()).hexdigest()
        return digest[:FINGERPRINT_LENGTH]


# Fields that never reach the Model or the EndpointConfig.
_NOT_FINGERPRINTED = {
    "alarms",
    "reserved_concurrency",
    "deployment",
    "allowed_content_types",
    "autoscaling",
    "monitoring",
    "canary_request",
}


class CanaryConfig(_Strict):
    """A CloudWatch Synthetics canary that calls every model's API route on a schedule.

    Default by environment (when ``enabled`` is absent): on in a production environment, off
    elsewhere. It alarms when SuccessPercent averages under ``success_threshold_percent`` over
    ``alarm_window_minutes``.
    """

    enabled: bool = False
    schedule_minutes: int = Field(default=10, ge=1, le=60)
    alarm_window_minutes: int = Field(default=30, ge=1, le=1440)
    success_threshold_percent: float = Field(default=90, gt=0, le=100)
    # Synthetics keeps run results for at most 455 days.
    artifact_retention_days: int = Field(default=30, ge=1, le=455)

    @model_validator(mode="after")
    def _window(self) -> CanaryConfig:
        if self.alarm_window_minutes < self.schedule_minutes:
            raise ValueError(
                f"alarm_window_minutes ({self.alarm_window_minutes}) is shorter than "
                f"schedule_minutes ({self.schedule_minutes}): some windows would hold no run; "
                "make the window at least one schedule interval"
            )
        return self


class DashboardConfig(_Strict):
    """One CloudWatch dashboard for the environment. On by default everywhere."""

    enabled: bool = True


class ApiAlarmThresholds(_AlarmWindow):
    """Alarms of the prediction API (stage-wide 5xx) and of each model's front-end function."""

    # API 5XXError responses a period above which to alarm.
    api_5xx_errors: int = Field(default=5, gt=0)
    # Front-end function errors (crashes, timeouts) a period above which to alarm; the function
    # answers every SageMaker failure instead of raising, so any error is a defect.
    frontend_errors: int = Field(default=0, ge=0)


class UsagePlanConfig(_Strict):
    """Per-API-key limits, for ``api.auth`` = ``api_key`` only. No quota unless one is set."""

    rate_limit: float = Field(default=50, gt=0, le=ACCOUNT_RATE_LIMIT)
    burst_limit: int = Field(default=100, ge=0, le=ACCOUNT_BURST_LIMIT)
    quota_limit: int | None = Field(default=None, gt=0)
    quota_period: Literal["day", "week", "month"] = "day"


class WafConfig(_Strict):
    """The web ACL the stack creates for the API (``ApiWebAcl``) when no ``waf_web_acl_arn``
    is given. ``enabled`` default: on in a production environment, off elsewhere."""

    enabled: bool | None = None
    managed_rule_groups: list[str] = Field(
        default_factory=lambda: list(WAF_MANAGED_RULE_GROUPS), min_length=1
    )
    rate_limit: int = Field(default=2000, ge=WAF_MIN_RATE_LIMIT, le=2_000_000_000)

    @field_validator("managed_rule_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"AWSManagedRules[A-Za-z0-9]+", name):
                raise ValueError(
                    f"{name!r} is not an AWS managed rule group name "
                    "(e.g. AWSManagedRulesCommonRuleSet)"
                )
        if len(set(value)) != len(value):
            raise ValueError("a rule group is listed twice")
        return value


class ApiConfig(_Strict):
    """The prediction API (API Gateway REST, regional) in front of every model.

    ``auth``: ``iam`` (SigV4, the default) or ``api_key`` (an ``x-api-key`` of a usage plan).
    Access logs (always on) and ``execution_logging`` (ERROR level, no request data) need the
    account-wide API Gateway CloudWatch role: it already exists in the account, or
    ``create_cloudwatch_role`` creates it (once per account and region). Without that role the
    stage fails to deploy.
    """

    auth: Literal["iam", "api_key"] = "iam"
    throttling_rate_limit: float = Field(default=100, gt=0, le=ACCOUNT_RATE_LIMIT)
    throttling_burst_limit: int = Field(default=200, ge=0, le=ACCOUNT_BURST_LIMIT)
    usage_plan: UsagePlanConfig | None = None
    waf_web_acl_arn: str | None = None
    waf: WafConfig = Field(default_factory=WafConfig)
    create_cloudwatch_role: bool = False
    execution_logging: bool = False
    alarms: ApiAlarmThresholds = Field(default_factory=ApiAlarmThresholds)

    @field_validator("waf_web_acl_arn")
    @classmethod
    def _web_acl(cls, value: str | None) -> str | None:
        if value is not None:
            web_acl_region(value)
        return value

    @property
    def key_usage_plan(self) -> UsagePlanConfig | None:
        """The usage plan API keys get: the configured one or the defaults; None for IAM auth."""
        if self.auth != "api_key":
            return None
        return self.usage_plan or UsagePlanConfig(
            rate_limit=min(UsagePlanConfig().rate_limit, self.throttling_rate_limit),
            burst_limit=min(UsagePlanConfig().burst_limit, self.throttling_burst_limit),
        )


class EnvironmentConfig(_Strict):
    """One deployment environment (dev, prod, ...). The file name gives ``name``."""

    name: str
    production: bool = False
    account: str | None = None
    region: str | None = None
    alert_emails: list[str] = Field(default_factory=list)
    log_retention_days: int = 30
    tags: dict[str, str] = Field(default_factory=dict)
    models: list[ModelConfig] = Field(min_length=1)
    api: ApiConfig = Field(default_factory=ApiConfig)
    # Captured requests and responses are deleted after this many days.
    capture_retention_days: int = Field(default=90, ge=1, le=3650)
    canary: CanaryConfig = Field(default_factory=CanaryConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    # How new model versions shift traffic, unless a model says otherwise (deployment.config).
    # Default: Canary10Percent5Minutes in a production environment, AllAtOnce elsewhere.
    deployment_config: str | None = None
    # Each model in a nested stack of its own, so the environment can grow past the about ten
    # models one CloudFormation template holds. Choose it when creating an environment:
    # switching an existing one moves every model's resources to another template.
    nested_model_stacks: bool = False
    # How new model versions roll out, unless a model says otherwise (deployment.strategy).
    deployment_strategy: DeploymentStrategy = "frontend-alias"
    # An existing VPC for the models and the functions; None: SageMaker's and Lambda's own
    # networks (see VpcConfig).
    vpc: VpcConfig | None = None

    @field_validator("deployment_config")
    @classmethod
    def _deployment_config(cls, value: str | None) -> str | None:
        return None if value is None else check_deployment_config(value)

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        """Fill in the defaults that depend on the environment, before validation, so that they
        are part of the validated (and fingerprinted) config: a production environment captures
        every request and runs the canary; others do neither unless asked."""
        if not isinstance(data, dict):
            return data
        production = data.get("production") is True
        models = data.get("models")
        if isinstance(models, list):
            data = {**data, "models": [_with_capture_default(m, production) for m in models]}
        canary = data.get("canary", {})
        if isinstance(canary, dict) and "enabled" not in canary:
            data = {**data, "canary": {**canary, "enabled": production}}
        return data

    @model_validator(mode="after")
    def _rules(self) -> EnvironmentConfig:
        # The same rules for a file and for config built in code (a _FieldError is no
        # ValueError, so pydantic lets it through to the caller as it is).
        _check_environment(self)
        return self

    @field_validator("name")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", value):
            raise ValueError(
                f"environment name {value!r} (the file name) must be 1-12 lowercase letters and "
                "digits, starting with a letter, e.g. dev, staging, prod"
            )
        return value

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]{12}", value):
            raise ValueError(f"account {value!r} must be a 12-digit AWS account id")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]", value
        ):
            raise ValueError(f"region {value!r} is not an AWS region name such as eu-west-1")
        return value

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not _EMAIL_PATTERN.match(email):
                raise ValueError(f"{email!r} is not an e-mail address")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in ALLOWED_DAYS:
            raise ValueError(
                f"log_retention_days {value} is not a CloudWatch Logs retention; use one of "
                f"{', '.join(map(str, ALLOWED_DAYS))}"
            )
        return value

    @property
    def stack_name(self) -> str:
        return f"{self.name.capitalize()}Stack"

    def strategy_for(self, model: ModelConfig) -> DeploymentStrategy:
        return model.deployment.strategy or self.deployment_strategy

    def endpoint_native(self, model: ModelConfig) -> bool:
        """True when SageMaker rolls ``model`` out in place (``endpoint-guardrails``)."""
        return self.strategy_for(model) == "endpoint-guardrails"

    def guardrails_for(self, model: ModelConfig) -> GuardrailsSettings | None:
        """The endpoint-native update settings of ``model``; None under frontend-alias."""
        if not self.endpoint_native(model):
            return None
        # A serverless endpoint has no instances to size a canary in: all at once everywhere.
        production = self.production and model.serverless is None
        default = PRODUCTION_GUARDRAILS if production else NON_PRODUCTION_GUARDRAILS
        return model.deployment.guardrails or default

    @property
    def creates_web_acl(self) -> bool:
        """Whether the stack creates the API's web ACL: when none is given, in production
        unless ``api.waf.enabled`` says otherwise."""
        if self.api.waf_web_acl_arn is not None:
            return False
        enabled = self.api.waf.enabled
        return self.production if enabled is None else enabled

    def endpoint_name_prefix(self, model: ModelConfig) -> str:
        """Every endpoint of ``model`` is named ``<prefix><fingerprint>``; under
        endpoint-guardrails the one endpoint is named exactly ``<env>-<model>``."""
        if self.endpoint_native(model):
            return f"{self.name}-{model.name}"
        return f"{self.name}-{model.name}-"

    def model_vpc(self, model: ModelConfig) -> VpcConfig | None:
        """The VPC ``model``'s SageMaker Model runs in: the environment's, except for a
        serverless model (SageMaker Serverless Inference takes no VpcConfig)."""
        return self.vpc if model.serverless is None else None

    def fingerprint(self, model: ModelConfig) -> str:
        """``model``'s fingerprint in this environment: with its Model's VPC settings."""
        return model.fingerprint(vpc=self.model_vpc(model))

    def endpoint_name(self, model: ModelConfig) -> str:
        if self.endpoint_native(model):
            return self.endpoint_name_prefix(model)
        return self.endpoint_name_prefix(model) + self.fingerprint(model)

    def endpoint_name_pattern(self, model: ModelConfig) -> str:
        """IAM pattern matching every endpoint name of ``model`` (blue and green) and no other:
        ``?`` matches exactly one character, so another model whose name merely starts the same
        (``fraud-detector-v2``) is not covered. Under endpoint-guardrails: the one name."""
        if self.endpoint_native(model):
            return self.endpoint_name(model)
        return fingerprinted_name_pattern(self.endpoint_name_prefix(model), FINGERPRINT_LENGTH)

    def deployment_config_for(self, model: ModelConfig) -> str:
        """The CodeDeploy deployment configuration that shifts ``model``'s new versions."""
        default = PRODUCTION_DEFAULT if self.production else NON_PRODUCTION_DEFAULT
        return model.deployment.config or self.deployment_config or default


# Models one stack holds: each adds up to about 43 resources to the ~39 the environment
# shares, and CloudFormation accepts 500 a template.
MAX_MODELS_IN_ONE_STACK = 10
# With nested stacks the top-level stack still holds each model's API route, permissions,
# outputs and dashboard rows: at 50 models 356 resources and 893 KB, near CloudFormation's
# 1 MB a template.
MAX_MODELS_NESTED = 50


def _with_capture_default(model: Any, production: bool) -> Any:
    """``model`` (a dict from a file, or a ModelConfig built in code) with the environment's
    data-capture default when it does not set ``data_capture`` itself."""
    if isinstance(model, dict) and "data_capture" not in model:
        enabled = production and model.get("serverless") is None
        return {**model, "data_capture": {"enabled": enabled}}
    if isinstance(model, ModelConfig) and "data_capture" not in model.model_fields_set:
        capture = DataCaptureConfig(enabled=production and model.serverless is None)
        return model.model_copy(update={"data_capture": capture})
    return model


def check_model(env: EnvironmentConfig, model: ModelConfig) -> None:
    """The rules ``model`` must meet in ``env``: the config loader's, for a model served by
    code (``ServedModel``). Raises a ConfigError naming the field and the fix."""
    index = next((i for i, m in enumerate(env.models) if m.name == model.name), None)
    _check_model(env, model, f"models[{index}]" if index is not None else model.name)


def _check_environment(env: EnvironmentConfig) -> None:
    """Rules that need the whole environment: name lengths, uniqueness, production pinning."""
    _check_api(env)
    _check_model_count(env)
    _check_vpc(env)
    seen: set[str] = set()
    for index, model in enumerate(env.models):
        where = f"models[{index}]"
        if model.name in seen:
            raise _FieldError(where + ".name", f"duplicate model name {model.name!r}; rename one")
        seen.add(model.name)
        _check_model(env, model, where)
    reserved = [m.reserved_concurrency or 0 for m in env.models]
    if sum(reserved) > MAX_RESERVED_CONCURRENCY:
        index = max(range(len(reserved)), key=reserved.__getitem__)
        raise _FieldError(
            f"models[{index}].reserved_concurrency",
            f"the models' front ends reserve {sum(reserved)} concurrent executions together, "
            f"over the {MAX_RESERVED_CONCURRENCY} an account with Lambda's default limit "
            "(1000, of which 100 stay unreserved) can give; lower the largest",
        )
    bodies = sum(len(m.canary_sample.body.encode()) for m in env.models)
    if env.canary.enabled and bodies > CANARY_BODIES_MAX_BYTES:
        raise _FieldError(
            "canary",
            f"the models' canary request bodies add up to {bodies} bytes, over the "
            f"{CANARY_BODIES_MAX_BYTES} the canary's environment can carry; give the models "
            "shorter canary_request bodies",
        )


def _check_model(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    length = len(env.endpoint_name(model))
    if length > ENDPOINT_NAME_MAX_LENGTH:
        raise _FieldError(
            where + ".name",
            f"the endpoint name <env>-<model>-<fingerprint> would be {length} characters, "
            f"over SageMaker's {ENDPOINT_NAME_MAX_LENGTH}; shorten the model name by "
            f"{length - ENDPOINT_NAME_MAX_LENGTH} or more",
        )
    _check_model_hosting(model, where)
    _check_model_observability(env, model, where)
    _check_model_deployment(model, where)
    _check_guardrails(env, model, where)
    # A model package is pinned by its version number: the tag rule is for images.
    if env.production and model.image is not None and not model.image.is_pinned:
        raise _FieldError(
            where + ".image_uri",
            f"image {model.image_uri!r} is not pinned; a production environment needs a "
            "version tag or digest other than 'latest' (e.g. :v2.1.0 or @sha256:...)",
        )


def _check_model_count(env: EnvironmentConfig) -> None:
    count = len(env.models)
    if not env.nested_model_stacks and count > MAX_MODELS_IN_ONE_STACK:
        raise _FieldError(
            "models",
            f"{count} models do not fit one CloudFormation stack (at most "
            f"{MAX_MODELS_IN_ONE_STACK}: each adds about 43 resources, a template holds 500); "
            "set nested_model_stacks to true to give each model a nested stack, or split the "
            "models into two environments",
        )
    if count > MAX_MODELS_NESTED:
        raise _FieldError(
            "models",
            f"{count} models are more than one environment serves (at most {MAX_MODELS_NESTED}: "
            "the top-level stack holds every model's API route, outputs and dashboard rows); "
            "split the models into two environments",
        )


def _check_model_observability(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    if model.monitoring is not None and not model.data_capture.enabled:
        raise _FieldError(
            where + ".monitoring",
            "Model Monitor analyses the endpoint's captured traffic; enable data_capture or "
            "remove monitoring",
        )
    request = model.canary_request
    if request is not None and request.content_type not in model.allowed_content_types:
        raise _FieldError(
            where + ".canary_request.content_type",
            f"{request.content_type!r} is not in the model's allowed_content_types "
            f"{model.allowed_content_types}, so the front end would answer 415; add it there or "
            "send another content type",
        )


def _check_model_deployment(model: ModelConfig, where: str) -> None:
    for number, sample in enumerate(model.pre_traffic_samples):
        if sample.content_type not in model.allowed_content_types:
            location = (
                f"{where}.deployment.sample_requests[{number}].content_type"
                if model.deployment.sample_requests
                else f"{where}.canary_request.content_type"
            )
            raise _FieldError(
                location,
                f"the front end answers {sample.content_type} with 415: it is not among "
                f"allowed_content_types {model.allowed_content_types}; add it there or send "
                "another content type",
            )
    size = len(json.dumps([s.hook_json() for s in model.pre_traffic_samples]).encode())
    if size > SAMPLE_REQUESTS_MAX_BYTES:
        raise _FieldError(
            where + ".deployment.sample_requests",
            f"the sample requests take {size} bytes as JSON, over the "
            f"{SAMPLE_REQUESTS_MAX_BYTES} the pre-traffic hook's environment can carry; send "
            "fewer or smaller samples",
        )


def _check_guardrails(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    """SageMaker's documented exclusions of deployment guardrails, as config errors: where it
    would silently update all at once without a bake, or refuse the update."""
    settings = env.guardrails_for(model)
    block = where + ".deployment.guardrails"
    if settings is None:
        if model.deployment.guardrails is not None:
            raise _FieldError(
                block,
                "guardrails apply to strategy endpoint-guardrails only; set "
                "deployment.strategy to endpoint-guardrails or remove guardrails",
            )
        return
    fix = "or set deployment.strategy to frontend-alias, which shifts to a new endpoint"
    if model.serverless is None and instance_family(model.instance_type) in EXCLUDED_FAMILIES:
        raise _FieldError(
            where + ".instance_type",
            f"SageMaker's deployment guardrails do not support {model.instance_type} "
            "(Inferentia 1): it would update the endpoint all at once with no bake; choose "
            f"another family (e.g. ml.inf2), {fix}",
        )
    image = model.image
    if image is not None and image.ecr_account in MARKETPLACE_REGISTRY_ACCOUNTS:
        raise _FieldError(
            where + ".image_uri",
            "this is an AWS Marketplace container, which SageMaker's deployment guardrails do "
            f"not support (it would update all at once with no bake); {fix}",
        )
    scaling = model.autoscaling
    smallest = scaling.min_capacity if scaling else model.initial_instance_count
    largest = scaling.max_capacity if scaling else model.initial_instance_count
    try:
        settings.policy().check_fleet(
            smallest=smallest, largest=largest, serverless=model.serverless is not None
        )
    except PolicyError as error:
        raise _FieldError(f"{block}.{error.field}", str(error)) from None


def _check_api(env: EnvironmentConfig) -> None:
    api, plan = env.api, env.api.usage_plan
    if api.waf_web_acl_arn is not None and api.waf.enabled:
        raise _FieldError(
            "api.waf.enabled",
            "waf_web_acl_arn already names the web ACL of the stage; remove waf.enabled, or "
            "remove waf_web_acl_arn to have the stack create one",
        )
    if plan is not None and api.auth != "api_key":
        raise _FieldError(
            "api.usage_plan", "usage_plan limits API keys; set auth to 'api_key' or remove it"
        )
    if plan is not None and (
        plan.rate_limit > api.throttling_rate_limit or plan.burst_limit > api.throttling_burst_limit
    ):
        raise _FieldError(
            "api.usage_plan",
            f"a key may send {plan.rate_limit}/s (burst {plan.burst_limit}), above the stage's "
            f"{api.throttling_rate_limit}/s (burst {api.throttling_burst_limit}) that caps every "
            "key; lower usage_plan or raise throttling_rate_limit/throttling_burst_limit",
        )
    arn = api.waf_web_acl_arn
    if arn is not None and env.region is not None and web_acl_region(arn) != env.region:
        raise _FieldError(
            "api.waf_web_acl_arn",
            f"the web ACL is in {web_acl_region(arn)} but the environment deploys to "
            f"{env.region}; a regional web ACL protects only APIs of its own region",
        )


def _check_vpc(env: EnvironmentConfig) -> None:
    """SageMaker's and Lambda's VpcConfig: 1-16 subnets, 1-5 security groups (both required).
    A production environment needs two subnets: SageMaker spreads an endpoint's instances over
    the subnets' Availability Zones, and one subnet puts the whole fleet in one zone."""
    vpc = env.vpc
    if vpc is None:
        return
    if not vpc.subnet_ids:
        raise _FieldError(
            "vpc.subnet_ids",
            "a VPC config needs the subnets the models and functions run in; list at least "
            "one subnet id (two or more in different Availability Zones), or remove vpc",
        )
    if not vpc.security_group_ids:
        raise _FieldError(
            "vpc.security_group_ids",
            "subnets without security groups: SageMaker and Lambda need at least one for the "
            "network interfaces they create in the subnets; list the security group ids",
        )
    for field, ids, limit in (
        ("subnet_ids", vpc.subnet_ids, MAX_VPC_SUBNETS),
        ("security_group_ids", vpc.security_group_ids, MAX_VPC_SECURITY_GROUPS),
    ):
        if len(ids) > limit:
            what = field.removesuffix("_ids").replace("_", " ")
            raise _FieldError(
                f"vpc.{field}",
                f"{len(ids)} {what}s, over the {limit} SageMaker and Lambda take; list fewer",
            )
    if env.production and len(vpc.subnet_ids) < 2:
        raise _FieldError(
            "vpc.subnet_ids",
            "a production environment needs at least two subnets in different Availability "
            "Zones, so that SageMaker can spread an endpoint's instances over them; add one",
        )
    if vpc.create_endpoints and not vpc.route_table_ids:
        raise _FieldError(
            "vpc.route_table_ids",
            "create_endpoints adds an S3 gateway endpoint, which needs the subnets' route "
            "tables; list their ids, or set create_endpoints to false if the VPC already "
            "reaches S3 and the AWS APIs",
        )
    if not vpc.create_endpoints and vpc.route_table_ids:
        raise _FieldError(
            "vpc.route_table_ids",
            "route tables are used only for the S3 gateway endpoint that create_endpoints "
            "adds; remove them or set create_endpoints to true",
        )


def _check_serverless(model: ModelConfig, where: str) -> None:
    """SageMaker's documented Serverless Inference exclusions that the config can express.
    (Multiple variants, VPC, network isolation and volume KMS keys it cannot: the endpoint
    construct never sets them for serverless.)"""
    if model.serverless is None:
        if model.alarms.model_setup_time_p99_ms is not None:
            raise _FieldError(
                where + ".alarms.model_setup_time_p99_ms",
                "ModelSetupTime is a serverless metric; remove the threshold or add serverless",
            )
        return
    for field in ("instance_type", "initial_instance_count"):
        if field in model.model_fields_set:
            raise _FieldError(
                f"{where}.{field}",
                f"a serverless endpoint has no instances, so {field} would be ignored; remove "
                f"it, or remove serverless to host on instances",
            )
    if model.autoscaling is not None:
        raise _FieldError(
            where + ".autoscaling",
            "serverless endpoints scale on their own up to serverless.max_concurrency; "
            "instance-count target tracking does not apply (autoscaling of provisioned "
            "concurrency is not supported here); remove autoscaling or serverless",
        )
    if model.data_capture.enabled:
        raise _FieldError(
            where + ".data_capture.enabled",
            "SageMaker cannot capture data from a serverless endpoint; set enabled to false or "
            "host the model on instances",
        )
    if model.monitoring is not None:
        raise _FieldError(
            where + ".monitoring",
            "Model Monitor does not support serverless endpoints; remove monitoring or host the "
            "model on instances",
        )
    image = model.image
    if image is not None and image.ecr_account is None:
        raise _FieldError(
            where + ".image_uri",
            f"serverless endpoints cannot pull from a private registry ({image.registry}); "
            "push the image to Amazon ECR or host the model on instances",
        )


def _check_model_hosting(model: ModelConfig, where: str) -> None:
    _check_serverless(model, where)
    scaling = model.autoscaling
    if scaling is None:
        return
    if is_burstable(model.instance_type):
        raise _FieldError(
            where + ".autoscaling",
            f"burstable instance type {model.instance_type} cannot autoscale; remove autoscaling "
            "or choose a non-burstable instance type such as ml.m5.large",
        )
    if scaling.max_capacity < scaling.min_capacity:
        raise _FieldError(
            where + ".autoscaling.max_capacity",
            f"max_capacity ({scaling.max_capacity}) is below min_capacity "
            f"({scaling.min_capacity}); raise max_capacity or lower min_capacity",
        )
    if not scaling.min_capacity <= model.initial_instance_count <= scaling.max_capacity:
        raise _FieldError(
            where + ".initial_instance_count",
            f"initial_instance_count ({model.initial_instance_count}) is outside the autoscaling "
            f"range [{scaling.min_capacity}, {scaling.max_capacity}]; set it between "
            "min_capacity and max_capacity",
        )


class _FieldError(ConfigError):
    """A rule broken at ``location`` (e.g. ``models[0].image_uri``). The loader adds the
    environment and model names; built in code, the error reads ``field '<location>': ...``."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"field {location!r}: {message}")
        self.location = location
        self.message = message


def _describe(env_name: str, raw: dict[str, Any], location: Iterable[str | int], msg: str) -> str:
    parts = list(location)
    where = f"environment {env_name!r}"
    if len(parts) >= 2 and parts[0] == "models" and isinstance(parts[1], int):
        models = raw.get("models")
        if (
            isinstance(models, list)
            and parts[1] < len(models)
            and isinstance(models[parts[1]], dict)
        ):
            where += f", model {models[parts[1]].get('name', '?')!r}"
    field = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in parts).replace(
        ".[", "["
    )
    return f"{where}, field {field or '<root>'!r}: {msg}"


def load_environment(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; raise ConfigError with one readable message."""
    env_name = path.stem
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"environment {env_name!r}: {path.name} is not valid JSON "
            f"(line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"environment {env_name!r}: {path.name} must hold a JSON object")
    if "name" in raw:
        raise ConfigError(
            f"environment {env_name!r}, field 'name': the environment is named by its file; "
            "remove the field"
        )
    try:
        env = EnvironmentConfig.model_validate({**raw, "name": env_name})
    except ValidationError as error:
        lines = [_describe(env_name, raw, e["loc"], _message(e)) for e in error.errors()]
        raise ConfigError("\n".join(lines)) from None
    except _FieldError as error:
        location = [
            int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", error.location) if p
        ]
        raise ConfigError(_describe(env_name, raw, location, error.message)) from None
    return env


def _message(error: Any) -> str:
    return describe_error(error, EnvironmentConfig)


def load_environments(directory: Path = ENVIRONMENTS_DIR) -> list[EnvironmentConfig]:
    """Load every ``*.json`` environment; all are validated before any is returned."""
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ConfigError(f"no environment files (*.json) in {directory}")
    return [load_environment(path) for path in paths]
