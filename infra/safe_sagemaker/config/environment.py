"""One environment (DevStack, ProdStack, ...): its models, API, observability, network, and the
defaults that depend on whether it is production.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from safe_sagemaker.config.api import ApiConfig
from safe_sagemaker.config.base import _EMAIL_PATTERN, FINGERPRINT_LENGTH, _Strict
from safe_sagemaker.config.deployment import (
    NON_PRODUCTION_GUARDRAILS,
    PRODUCTION_GUARDRAILS,
    DeploymentStrategy,
    GuardrailsSettings,
)
from safe_sagemaker.config.model import ModelConfig
from safe_sagemaker.config.network import VpcConfig
from safe_sagemaker.config.observability import CanaryConfig, DashboardConfig, DataCaptureConfig
from safe_sagemaker.config.rules import _check_environment
from safe_sagemaker.deployment_configs import (
    NON_PRODUCTION_DEFAULT,
    PRODUCTION_DEFAULT,
    check_deployment_config,
)
from safe_sagemaker.iam_patterns import fingerprinted_name_pattern
from safe_sagemaker.log_retention import ALLOWED_DAYS

# The environment files of a project laid out like this repository, relative to the working
# directory (where `cdk` and `safe-sagemaker` run). They are the app's data, not the
# library's: an app passes its own folder.
ENVIRONMENTS_DIR = Path("infra", "environments")


# CDK context key naming another folder of environment files
# (``-c safe-sagemaker:environments=DIR``):
# how ``safe-sagemaker drill`` deploys an overlay without touching the files in the repository.
ENVIRONMENTS_CONTEXT = "safe-sagemaker:environments"


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
