"""One served model: its source (image and artifact, or a Model Registry package), hosting
(instances, autoscaling, serverless, network isolation) and its fingerprint.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from safe_sagemaker.api_rules import (
    DEFAULT_CONTENT_TYPES,
    check_media_types,
)
from safe_sagemaker.config.base import (
    _NAME_PATTERN,
    FINGERPRINT_LENGTH,
    ImageUri,
    _Strict,
    parse_image_uri,
    parse_model_package_arn,
    parse_s3_uri,
)
from safe_sagemaker.config.deployment import (
    DEFAULT_SAMPLE_REQUEST,
    DeploymentSettings,
    SampleRequest,
)
from safe_sagemaker.config.network import VpcConfig
from safe_sagemaker.config.observability import (
    AlarmThresholds,
    CanaryRequest,
    DataCaptureConfig,
    MonitoringConfig,
)
from safe_sagemaker.instance_types import check_instance_type

# The production variant a model gets unless it names one (endpoint-guardrails always keeps it).
DEFAULT_VARIANT_NAME = "primary"


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


class ModelConfig(_Strict):
    """One served model: its image and artifact, how it is hosted, scaled and watched."""

    name: str = Field(min_length=1)
    # Either image_uri + model_data_url, or a versioned Model Registry package.
    image_uri: str | None = None
    model_data_url: str | None = None
    model_package_arn: str | None = None
    instance_type: str = "ml.c5.xlarge"
    initial_instance_count: int = Field(default=1, ge=1)
    variant_name: str = DEFAULT_VARIANT_NAME
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
