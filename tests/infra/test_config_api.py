"""The ``api`` section and ``allowed_content_types``: defaults, and one clear error per mistake.
No CDK synth here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import load_environment
from tests.infra.test_config import env_with, error_for, write_env

WEB_ACL = (
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/predictions/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)


def body_with(api: dict[str, Any] | None = None, **env_fields: Any) -> dict[str, Any]:
    # Not production: the API rules do not depend on it, and production asks for more (canary).
    body = env_with({}, production=False, **env_fields)
    if api is not None:
        body["api"] = api
    return body


def load(tmp_path: Path, api: dict[str, Any] | None = None, **env_fields: Any) -> Any:
    return load_environment(write_env(tmp_path, "prod", body_with(api, **env_fields)))


def test_defaults_are_iam_auth_without_account_logging_role(tmp_path: Path) -> None:
    env = load(tmp_path)
    api = env.api
    assert api.auth == "iam"
    assert (api.throttling_rate_limit, api.throttling_burst_limit) == (100, 200)
    assert api.key_usage_plan is None
    assert api.waf_web_acl_arn is None
    assert not api.create_cloudwatch_role and not api.execution_logging
    assert (api.alarms.api_5xx_errors, api.alarms.frontend_errors) == (5, 0)
    assert env.models[0].allowed_content_types == ["application/json", "text/csv"]


def test_api_key_mode_gets_a_default_usage_plan_within_the_stage_limits(tmp_path: Path) -> None:
    env = load(
        tmp_path, {"auth": "api_key", "throttling_rate_limit": 20, "throttling_burst_limit": 40}
    )
    plan = env.api.key_usage_plan
    assert plan is not None
    assert (plan.rate_limit, plan.burst_limit, plan.quota_limit) == (20, 40, None)


def test_a_configured_usage_plan_is_kept(tmp_path: Path) -> None:
    usage_plan = {"rate_limit": 10, "burst_limit": 20, "quota_limit": 5000, "quota_period": "week"}
    env = load(tmp_path, {"auth": "api_key", "usage_plan": usage_plan})
    assert env.api.key_usage_plan is not None
    assert env.api.key_usage_plan.model_dump() == usage_plan


def test_allowed_content_types_do_not_change_the_endpoint(tmp_path: Path) -> None:
    before = load(tmp_path).models[0]
    body = body_with()
    body["models"][0]["allowed_content_types"] = ["application/json", "application/x-npy"]
    after = load_environment(write_env(tmp_path, "prod", body)).models[0]
    assert after.fingerprint() == before.fingerprint()


@pytest.mark.parametrize(
    ("api", "field", "fix"),
    [
        ({"auth": "oauth"}, "api.auth", 'must be one of "iam", "api_key", not the string "oauth"'),
        ({"auth": "iam", "usage_plan": {}}, "api.usage_plan", "set auth to 'api_key'"),
        (
            {"auth": "api_key", "usage_plan": {"rate_limit": 500}},
            "api.usage_plan",
            "lower usage_plan or raise throttling_rate_limit",
        ),
        ({"throttling_rate_limit": 0}, "api.throttling_rate_limit", "greater than 0"),
        ({"throttling_rate_limit": 20_000}, "api.throttling_rate_limit", "10000"),
        ({"throttling_burst_limit": 9_000}, "api.throttling_burst_limit", "5000"),
        (
            {"waf_web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/y"},
            "api.waf_web_acl_arn",
            "CloudFront-scoped",
        ),
        ({"waf_web_acl_arn": "my-acl"}, "api.waf_web_acl_arn", "regional/webacl/<name>/<id>"),
        ({"alarms": {"api_5xx_errors": 0}}, "api.alarms.api_5xx_errors", "greater than 0"),
        (
            {"alarms": {"frontend_errors": -1}},
            "api.alarms.frontend_errors",
            "must be at least 0, not -1",
        ),
        (
            {"alarms": {"datapoints_to_alarm": 5}},
            "api.alarms",
            "must not exceed evaluation_periods",
        ),
        ({"alarms": {"period_seconds": 45}}, "api.alarms", "10, 30 or a multiple of 60"),
        ({"logging": True}, "api.logging", "unknown field"),
    ],
)
def test_bad_api_config_names_the_field_and_the_fix(
    tmp_path: Path, api: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, body_with(api))
    assert message.startswith(f"environment 'prod', field '{field}")
    assert fix in message


def test_web_acl_must_be_in_the_environments_region(tmp_path: Path) -> None:
    message = error_for(tmp_path, body_with({"waf_web_acl_arn": WEB_ACL}, region="eu-west-1"))
    assert message.startswith("environment 'prod', field 'api.waf_web_acl_arn'")
    assert "us-east-1" in message and "eu-west-1" in message


def test_web_acl_in_the_environments_region_is_accepted(tmp_path: Path) -> None:
    env = load(tmp_path, {"waf_web_acl_arn": WEB_ACL}, region="us-east-1")
    assert env.api.waf_web_acl_arn == WEB_ACL


@pytest.mark.parametrize(
    ("content_types", "fix"),
    [
        (["application/json; charset=utf-8"], "without parameters"),
        (["image/*"], "wildcards"),
        (["Application/JSON"], "lowercase"),
        (["text/csv", "text/csv"], "must not repeat"),
        ([], "at least 1 item"),
    ],
)
def test_bad_allowed_content_types_name_the_model_and_field(
    tmp_path: Path, content_types: list[str], fix: str
) -> None:
    body = body_with()
    body["models"][0]["allowed_content_types"] = content_types
    message = error_for(tmp_path, body)
    assert message.startswith(
        "environment 'prod', model 'fraud-detector', field 'models[0].allowed_content_types"
    )
    assert fix in message
