"""The delivery pipeline's configuration: ``infra/environments/pipeline/pipeline.json``.

It lives in a folder of its own so environment discovery (``infra/environments/*.json``) never
mistakes it for an environment. Without the file there is no pipeline. It is validated against
the environments it names, before anything is synthesized; an error names the field and the fix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from safe_sagemaker.api_rules import check_media_type
from safe_sagemaker.config import ENVIRONMENTS_DIR, ConfigError, EnvironmentConfig, _FieldError
from safe_sagemaker.pipeline.approved_packages import registry_models

PIPELINE_DIR = ENVIRONMENTS_DIR / "pipeline"
PIPELINE_FILE = PIPELINE_DIR / "pipeline.json"
EXAMPLE_FILE = PIPELINE_DIR / "pipeline.example.json"

_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:"
    r"connection/[0-9a-f-]{36}$"
)


def _matching(pattern: str | re.Pattern[str], problem: str) -> AfterValidator:
    """Accept a string that matches ``pattern`` in full; else ``problem`` (with ``{value!r}``)
    says what is wrong and how to fix it."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(problem.format(value=value))
        return value

    return AfterValidator(check)


ConnectionArn = Annotated[
    str,
    _matching(
        _CONNECTION_ARN,
        "{value!r} is not a connection ARN; create the connection in the console (Developer "
        "Tools > Settings > Connections) and copy its ARN "
        "(arn:aws:codeconnections:<region>:<account>:connection/<id>)",
    ),
]
RepositoryId = Annotated[
    str, _matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "repository {value!r} must be 'owner/name'")
]
RepositoryName = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9_.-]{1,100}", "repository_name {value!r}: 1-100 letters, digits, '.', '_', '-'"
    ),
]
PipelineName = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9.@_-]{1,100}",
        "pipeline_name {value!r}: 1-100 letters, digits, '.', '@', '_', '-'",
    ),
]
AccountId = Annotated[
    str, _matching(r"[0-9]{12}", "account {value!r} must be a 12-digit AWS account id")
]
RegionName = Annotated[
    str,
    _matching(
        r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]",
        "region {value!r} is not an AWS region name such as eu-west-1",
    ),
]
GroupName = Annotated[
    str,
    _matching(
        r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        "{value!r} is not a model package group name (up to 63 letters, digits and hyphens)",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionSource(_Strict):
    """A repository behind an AWS CodeConnections (CodeStar Connections) connection."""

    connection_arn: ConnectionArn
    repository: RepositoryId
    branch: str = "main"


class CodeCommitSource(_Strict):
    """An existing CodeCommit repository of the pipeline's account, found by name."""

    repository_name: RepositoryName
    branch: str = "main"


class SourceConfig(_Strict):
    """Exactly one of ``connection`` and ``codecommit``."""

    connection: ConnectionSource | None = None
    codecommit: CodeCommitSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        if (self.connection is None) == (self.codecommit is None):
            raise ValueError("set exactly one of 'connection' and 'codecommit'")
        return self

    @property
    def branch(self) -> str:
        source = self.connection or self.codecommit
        assert source is not None
        return source.branch


class SmokeTestConfig(_Strict):
    """One signed request through the stage's API once the stage is deployed."""

    model: str
    body: str
    content_type: str = "application/json"
    expect_status: int = Field(default=200, ge=100, le=599)
    expect_json_keys: list[str] = Field(default_factory=list)
    expect_body_contains: str | None = None
    timeout_seconds: int = Field(default=20, ge=1, le=60)

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value: str) -> str:
        return check_media_type(value)


class StageConfig(_Strict):
    """One environment the pipeline deploys, in the order of ``stages``."""

    environment: str
    # A person approves before this stage deploys; the approval text says what will change.
    approval: bool = False
    smoke_tests: list[SmokeTestConfig] = Field(default_factory=list)


class ModelRegistryConfig(_Strict):
    """Approving a version in one of these groups starts the pipeline, and the synth step
    deploys the newest approved version of each group to the models that serve it."""

    model_package_groups: list[GroupName] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _no_pinned_packages(cls, data: Any) -> Any:
        # The earlier pipeline kept a second pin here; two pins could disagree silently.
        if isinstance(data, dict) and "pinned_packages" in data:
            raise ValueError(
                "pinned_packages is no longer read: the version a synth without the registry "
                "deploys is the model_package_arn in the environment file; move each pin "
                "there and remove pinned_packages"
            )
        return data

    @field_validator("model_package_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a model package group is listed twice")
        return value


class PipelineConfig(_Strict):
    pipeline_name: PipelineName = "safe-sagemaker-endpoints"
    # The tooling account and region the pipeline runs in.
    account: AccountId
    region: RegionName
    source: SourceConfig
    stages: list[StageConfig] = Field(min_length=1)
    model_registry: ModelRegistryConfig | None = None


def _check_stages(config: PipelineConfig, environments: dict[str, EnvironmentConfig]) -> None:
    seen: set[str] = set()
    for index, stage in enumerate(config.stages):
        where = f"stages[{index}]"
        env = environments.get(stage.environment)
        if env is None:
            raise _FieldError(
                where + ".environment",
                f"no environment {stage.environment!r}; use one of {sorted(environments)} "
                "(infra/environments/<name>.json)",
            )
        if stage.environment in seen:
            raise _FieldError(where + ".environment", f"{stage.environment!r} is deployed twice")
        seen.add(stage.environment)
        if env.region is not None and env.region != config.region:
            raise _FieldError(
                where + ".environment",
                f"{stage.environment!r} is in region {env.region} but the pipeline in "
                f"{config.region}; cross-region stages are not supported, deploy the pipeline "
                "to the stage's region",
            )
        if env.production and not stage.approval:
            raise _FieldError(
                where + ".approval",
                f"{stage.environment!r} is a production environment; set approval to true so a "
                "person approves what changes before it deploys",
            )
        if stage.smoke_tests and env.api.auth != "iam":
            raise _FieldError(
                where + ".smoke_tests",
                f"smoke tests sign with SigV4 but {stage.environment!r} uses api.auth "
                f"{env.api.auth!r}; use 'iam' or remove the smoke tests",
            )
        models = [model.name for model in env.models]
        for number, smoke in enumerate(stage.smoke_tests):
            if smoke.model not in models:
                raise _FieldError(
                    f"{where}.smoke_tests[{number}].model",
                    f"{stage.environment!r} serves no model {smoke.model!r}; use one of {models}",
                )


def _check_registry(config: PipelineConfig, environments: dict[str, EnvironmentConfig]) -> None:
    """Each group is served by a model of a stage, from the registry of the pipeline's account
    and region: the one whose approval events reach the pipeline and which its synth reads."""
    if config.model_registry is None:
        return
    staged = [environments[stage.environment] for stage in config.stages]
    for index, group in enumerate(config.model_registry.model_package_groups):
        where = f"model_registry.model_package_groups[{index}]"
        serving = [
            (env, model, package)
            for env in staged
            for model, package in registry_models(env, [group])
        ]
        if not serving:
            raise _FieldError(
                where,
                f"no model of the pipeline's stages serves group {group!r}, so an approval "
                "would deploy nothing; pin a version of it in a model's model_package_arn "
                "(infra/environments/<name>.json) or remove the group",
            )
        for env, model, package in serving:
            if (package["account"], package["region"]) != (config.account, config.region):
                raise _FieldError(
                    where,
                    f"environment {env.name!r} model {model.name!r} pins a package of "
                    f"{package['account']}/{package['region']}, but the pipeline reads the "
                    f"registry of its own account and region ({config.account}/{config.region});"
                    " register the model there or run the pipeline in the registry's account",
                )


def load_pipeline_config(path: Path, environments: list[EnvironmentConfig]) -> PipelineConfig:
    """Read and validate ``path`` against ``environments``; raise ConfigError with one message."""
    where = f"pipeline config {path.name}"
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{where} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must hold a JSON object")
    try:
        config = PipelineConfig.model_validate(raw)
        by_name = {env.name: env for env in environments}
        _check_stages(config, by_name)
        _check_registry(config, by_name)
    except ValidationError as error:
        raise ConfigError(
            "\n".join(f"{where}, field {_field(e['loc'])!r}: {_message(e)}" for e in error.errors())
        ) from None
    except _FieldError as error:
        raise ConfigError(f"{where}, field {error.location!r}: {error.message}") from None
    return config


def _field(location: tuple[Any, ...]) -> str:
    text = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in location)
    return text.replace(".[", "[") or "<root>"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field (a typo?); remove it or check the pipeline section of the README"
    if error["type"] == "missing":
        return "required; see the pipeline section of the README"
    return str(error["msg"]).removeprefix("Value error, ")
