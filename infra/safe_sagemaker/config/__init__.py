"""Per-environment configuration: data in ``infra/environments/<name>.json``, validated at synth.

Adding an environment is adding a file: ``staging.json`` becomes ``StagingStack``. Every file is
validated before any stack is built, so a bad file fails synth with one message that names the
environment, the model, the field and the fix, and nothing is synthesized.

The package by concern: ``base`` (errors, parsers, the strict model), ``model``,
``deployment``, ``observability``, ``api``, ``network``, ``environment``, ``rules`` (every rule that
spans fields, in one place) and ``loading`` (files and messages). Import from here.
"""

from __future__ import annotations

from safe_sagemaker.config.api import (
    ApiAlarmThresholds,
    ApiConfig,
    UsagePlanConfig,
    WafConfig,
)
from safe_sagemaker.config.base import (
    ENDPOINT_NAME_MAX_LENGTH,
    FINGERPRINT_LENGTH,
    MARKETPLACE_REGISTRY_ACCOUNTS,
    ConfigError,
    ImageUri,
    _FieldError,
    parse_image_uri,
    parse_model_package_arn,
    parse_s3_uri,
)
from safe_sagemaker.config.deployment import (
    DEFAULT_SAMPLE_REQUEST,
    METRICS_WAIT_MAX_SECONDS,
    NON_PRODUCTION_GUARDRAILS,
    PRODUCTION_GUARDRAILS,
    SAMPLE_REQUESTS_MAX_BYTES,
    CapacitySizeConfig,
    DeploymentSettings,
    DeploymentStrategy,
    GuardrailsSettings,
    RollbackAlarmThresholds,
    SampleRequest,
)
from safe_sagemaker.config.environment import (
    ENVIRONMENTS_CONTEXT,
    ENVIRONMENTS_DIR,
    EnvironmentConfig,
)
from safe_sagemaker.config.loading import (
    load_environment,
    load_environments,
)
from safe_sagemaker.config.model import (
    DEFAULT_VARIANT_NAME,
    MAX_RESERVED_CONCURRENCY,
    MIN_OPT_OUT_REASON,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MODEL_SETUP_TIME_P99_MS,
    AutoscalingConfig,
    ModelConfig,
    NetworkIsolationConfig,
    ServerlessConfig,
)
from safe_sagemaker.config.network import (
    MAX_VPC_SECURITY_GROUPS,
    MAX_VPC_SUBNETS,
    VpcConfig,
)
from safe_sagemaker.config.observability import (
    CANARY_BODY_MAX_BYTES,
    AlarmThresholds,
    CanaryConfig,
    CanaryRequest,
    DashboardConfig,
    DataCaptureConfig,
    MonitoringConfig,
)
from safe_sagemaker.config.rules import (
    MAX_MODELS_IN_ONE_STACK,
    MAX_MODELS_NESTED,
    check_model,
)

__all__ = [
    "CANARY_BODY_MAX_BYTES",
    "DEFAULT_SAMPLE_REQUEST",
    "DEFAULT_VARIANT_NAME",
    "ENDPOINT_NAME_MAX_LENGTH",
    "ENVIRONMENTS_CONTEXT",
    "ENVIRONMENTS_DIR",
    "FINGERPRINT_LENGTH",
    "MARKETPLACE_REGISTRY_ACCOUNTS",
    "MAX_MODELS_IN_ONE_STACK",
    "MAX_MODELS_NESTED",
    "MAX_RESERVED_CONCURRENCY",
    "MAX_VPC_SECURITY_GROUPS",
    "MAX_VPC_SUBNETS",
    "METRICS_WAIT_MAX_SECONDS",
    "MIN_OPT_OUT_REASON",
    "NON_PRODUCTION_GUARDRAILS",
    "PRODUCTION_GUARDRAILS",
    "SAMPLE_REQUESTS_MAX_BYTES",
    "SERVERLESS_MAX_CONCURRENCY",
    "SERVERLESS_MODEL_SETUP_TIME_P99_MS",
    "AlarmThresholds",
    "ApiAlarmThresholds",
    "ApiConfig",
    "AutoscalingConfig",
    "CanaryConfig",
    "CanaryRequest",
    "CapacitySizeConfig",
    "ConfigError",
    "DashboardConfig",
    "DataCaptureConfig",
    "DeploymentSettings",
    "DeploymentStrategy",
    "EnvironmentConfig",
    "GuardrailsSettings",
    "ImageUri",
    "ModelConfig",
    "MonitoringConfig",
    "NetworkIsolationConfig",
    "RollbackAlarmThresholds",
    "SampleRequest",
    "ServerlessConfig",
    "UsagePlanConfig",
    "VpcConfig",
    "WafConfig",
    "_FieldError",
    "check_model",
    "load_environment",
    "load_environments",
    "parse_image_uri",
    "parse_model_package_arn",
    "parse_s3_uri",
]
