"""What every part of the configuration shares: the error types, the strict base model, the
alarm window, and the parsers of images, model package ARNs and S3 URIs.
"""

from __future__ import annotations

import re

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

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


# Where SageMaker's container products live: AWS Marketplace's registry account.
MARKETPLACE_REGISTRY_ACCOUNTS = frozenset({"709825985650"})


class _FieldError(ConfigError):
    """A rule broken at ``location`` (e.g. ``models[0].image_uri``). The loader adds the
    environment and model names; built in code, the error reads ``field '<location>': ...``."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"field {location!r}: {message}")
        self.location = location
        self.message = message
