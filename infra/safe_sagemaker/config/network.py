"""The network an environment runs in: an existing VPC (subnets, security groups, route
tables) for the models and functions, and whether to create the VPC endpoints they need."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from safe_sagemaker.config.base import _Strict

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
