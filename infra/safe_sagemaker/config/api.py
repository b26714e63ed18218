"""The prediction API: authentication, throttling, usage plans, the web ACL, API alarms."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from safe_sagemaker.api_rules import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    WAF_MANAGED_RULE_GROUPS,
    WAF_MIN_RATE_LIMIT,
    web_acl_region,
)
from safe_sagemaker.config.base import _AlarmWindow, _Strict


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
