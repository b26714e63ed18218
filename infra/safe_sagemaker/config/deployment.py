"""How a new model version is rolled out and checked: the strategy (CodeDeploy's front-end alias
shift or SageMaker's own guardrails), sample requests, rollback alarms.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from safe_sagemaker.api_rules import (
    check_media_type,
)
from safe_sagemaker.config.base import _AlarmWindow, _Strict
from safe_sagemaker.deployment_configs import (
    HOOK_TIMEOUT_SECONDS,
    check_deployment_config,
)
from safe_sagemaker.endpoint_update_policy import (
    MAX_EXECUTION_TIMEOUT_SECONDS,
    MAX_WAIT_SECONDS,
    MIN_EXECUTION_TIMEOUT_SECONDS,
    CapacitySize,
    EndpointUpdatePolicy,
    Mode,
)

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
