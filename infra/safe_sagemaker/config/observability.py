"""How a model and its environment are watched: endpoint alarm thresholds, data capture, Model
Monitor, the Synthetics canary and the dashboard.
"""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from safe_sagemaker.api_rules import (
    check_media_type,
    check_media_types,
)
from safe_sagemaker.config.base import _AlarmWindow, _Strict, parse_s3_uri
from safe_sagemaker.instance_types import check_instance_type


class AlarmThresholds(_AlarmWindow):
    """Endpoint alarm thresholds. Every value must be positive."""

    invocation_5xx_errors: int = Field(default=5, gt=0)
    invocation_4xx_errors: int = Field(default=50, gt=0)
    model_latency_p99_ms: int = Field(default=1000, gt=0)
    overhead_latency_p99_ms: int = Field(default=200, gt=0)
    # Serverless only (cold starts): default SERVERLESS_MODEL_SETUP_TIME_P99_MS there.
    model_setup_time_p99_ms: int | None = Field(default=None, gt=0)


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


# One small record proves that a route answers; the canary sends it to every route each run.
CANARY_BODY_MAX_BYTES = 1024


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
