"""Facts about API Gateway that the config validation and the PredictionApi construct share.

Kept free of CDK imports and in one place so that a config that validates always builds, and
the construct rejects exactly what the config would.
"""

from __future__ import annotations

import re

# API Gateway's default account-level throttle per region (requests/second and burst). A stage
# or usage plan limit above these never applies, so asking for more is a mistake.
ACCOUNT_RATE_LIMIT = 10_000
ACCOUNT_BURST_LIMIT = 5_000

# The web ACL the stack creates for the API (WafConfig, ApiWebAcl): AWS managed rule groups by
# default, and WAF's minimum for a rate-based rule (requests per source IP per 5 minutes).
WAF_MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
WAF_MIN_RATE_LIMIT = 10

# Request size limits along the path, in bytes (documented in the PredictionApi docstring).
API_GATEWAY_MAX_PAYLOAD = 10 * 1024 * 1024
LAMBDA_SYNC_MAX_PAYLOAD = 6 * 1024 * 1024
SAGEMAKER_MAX_PAYLOAD = 6 * 1024 * 1024

DEFAULT_CONTENT_TYPES = ("application/json", "text/csv")

# A route's model name becomes a URL path segment and an IAM resource: keep it plain.
ROUTE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

# RFC 6838 type/subtype, lowercase, no parameters and no wildcards: the front end compares the
# request's media type with the allowlist literally.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")

# Media types whose bodies API Gateway may pass as text. Everything else is registered as a
# binary media type: calling a text type binary only costs a base64 round trip (the front end
# decodes either), calling a binary type text corrupts the payload.
# The front end's logic.is_textual applies the same rule (its code ships alone); a test in
# tests/lambdas/frontend/test_frontend_logic.py holds the two together.
_TEXT_MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/jsonlines",
        "application/x-ndjson",
        "application/xml",
        "application/csv",
        "application/x-www-form-urlencoded",
    }
)

_WEB_ACL_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:wafv2:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]):[0-9]{12}:"
    r"regional/webacl/[A-Za-z0-9_-]{1,128}/[0-9a-f-]{36}$"
)


def check_media_type(value: str) -> str:
    """Return ``value`` if it is a bare lowercase media type, else raise ValueError."""
    if not _MEDIA_TYPE.match(value):
        raise ValueError(
            f"{value!r} is not a lowercase media type; use type/subtype without parameters or "
            "wildcards, e.g. application/json or image/jpeg"
        )
    return value


def check_media_types(values: list[str]) -> list[str]:
    """Return ``values`` if each is a bare lowercase media type and none repeats."""
    for value in values:
        check_media_type(value)
    if len(set(values)) != len(values):
        raise ValueError("media types must not repeat")
    return values


def is_binary_media_type(media_type: str) -> bool:
    """Whether API Gateway must treat bodies of ``media_type`` as binary (base64 to Lambda)."""
    return not (
        media_type.startswith("text/")
        or media_type in _TEXT_MEDIA_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


def web_acl_region(arn: str) -> str:
    """The region of a regional WAFv2 web ACL ARN; ValueError for anything else."""
    match = _WEB_ACL_ARN.match(arn)
    if match is None:
        raise ValueError(
            f"{arn!r} is not a regional WAFv2 web ACL ARN; use "
            "arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id> (a CloudFront-scoped "
            "ACL cannot protect a regional API)"
        )
    return match.group("region")
