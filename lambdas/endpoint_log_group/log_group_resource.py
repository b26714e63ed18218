"""Adopt or create a SageMaker endpoint's log group: the logic of a CloudFormation custom resource.

An endpoint's log group is named after the endpoint (``/aws/sagemaker/Endpoints/<name>``), and
endpoint names repeat: a rolled-back version deployed again, or a revert to an earlier model,
brings its name back, and the group of the earlier attempt still exists (it is kept so its logs
explain what happened). A plain ``AWS::Logs::LogGroup`` then fails with "already exists". This
resource instead

- on Create and Update creates the group (with its KMS key and tags) when it does not exist, or
  adopts the existing one (associates the key, adds the tags); either way it then sets the
  retention policy. Every step is idempotent, so a retried request converges;
- on Delete keeps the group: CloudFormation sends the same Delete for a rolled-back green
  endpoint, a retired blue one and a deleted stack, and cannot say which it is. Its events
  expire with the retention, so a kept group costs nothing once they are gone.

The physical id is the group's name. It runs under the CDK Provider framework: ``on_event``
returns the response or raises, and the framework reports either to CloudFormation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

LOGGER = logging.getLogger(__name__)

# CloudWatch Logs' own rule for a group name.
_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_KEY_ARN = re.compile(r"^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_STACK_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):cloudformation:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):stack/"
)


class PropertiesError(ValueError):
    """The resource's properties are missing or malformed; the message names the property."""


class LogsClient(Protocol):
    """The CloudWatch Logs calls this resource makes (a boto3 ``logs`` client)."""

    def create_log_group(self, **kwargs: Any) -> Any: ...
    def associate_kms_key(self, **kwargs: Any) -> Any: ...
    def tag_resource(self, **kwargs: Any) -> Any: ...
    def put_retention_policy(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class LogGroupSpec:
    """What the group must look like, from the custom resource's properties."""

    name: str
    retention_in_days: int
    kms_key_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any] | None) -> LogGroupSpec:
        """Validate ``ResourceProperties``. CloudFormation passes every scalar as a string."""
        if not isinstance(properties, Mapping):
            raise PropertiesError("ResourceProperties are missing")
        name = properties.get("LogGroupName")
        if not isinstance(name, str) or not name:
            raise PropertiesError("property LogGroupName is required")
        if not _GROUP_NAME.match(name):
            raise PropertiesError(f"property LogGroupName {name!r} is not a log group name")
        raw_days = properties.get("RetentionInDays")
        if raw_days is None or raw_days == "":
            raise PropertiesError(
                "property RetentionInDays is required: a kept log group must expire its events"
            )
        try:
            days = int(str(raw_days))
        except ValueError:
            raise PropertiesError(
                f"property RetentionInDays must be a whole number of days, got {raw_days!r}"
            ) from None
        if days < 1:
            raise PropertiesError(f"property RetentionInDays must be positive, got {days}")
        key = properties.get("KmsKeyId") or None
        if key is not None and (not isinstance(key, str) or not _KEY_ARN.match(key)):
            raise PropertiesError(f"property KmsKeyId must be a KMS key ARN, got {key!r}")
        tags = properties.get("Tags") or {}
        if not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise PropertiesError("property Tags must map tag keys to string values")
        return cls(name=name, retention_in_days=days, kms_key_id=key, tags=dict(tags))


def log_group_arn(stack_id: str, name: str) -> str:
    """The group's ARN (without ``:*``), in the partition, region and account of the stack."""
    match = _STACK_ARN.match(stack_id or "")
    if match is None:
        raise PropertiesError(f"StackId {stack_id!r} is not a CloudFormation stack ARN")
    return f"arn:{match['partition']}:logs:{match['region']}:{match['account']}:log-group:{name}"


def ensure_log_group(logs: LogsClient, spec: LogGroupSpec, *, arn: str) -> str:
    """Create the group or adopt the existing one; return ``"created"`` or ``"adopted"``."""
    create: dict[str, Any] = {"logGroupName": spec.name}
    if spec.kms_key_id:
        create["kmsKeyId"] = spec.kms_key_id
    if spec.tags:
        create["tags"] = dict(spec.tags)
    try:
        logs.create_log_group(**create)
        outcome = "created"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
            raise
        outcome = "adopted"
    # Retention first when adopting too: the events the group already holds (a rolled-back
    # attempt's) must expire on this resource's terms even if a later call fails.
    logs.put_retention_policy(logGroupName=spec.name, retentionInDays=spec.retention_in_days)
    if outcome == "adopted":
        if spec.kms_key_id:
            logs.associate_kms_key(logGroupName=spec.name, kmsKeyId=spec.kms_key_id)
        if spec.tags:
            logs.tag_resource(resourceArn=arn, tags=dict(spec.tags))
    return outcome


def on_event(event: Mapping[str, Any], logs: LogsClient) -> dict[str, Any]:
    """Handle one CloudFormation request; the Provider framework reports the result."""
    request = event.get("RequestType")
    if request == "Delete":
        kept = event.get("PhysicalResourceId", "")
        LOGGER.info(
            "kept log group %s: its events expire with its retention (a Delete may be a "
            "rolled-back rollout, whose logs explain why)",
            kept,
        )
        return {"PhysicalResourceId": kept}
    if request not in ("Create", "Update"):
        raise PropertiesError(f"RequestType {request!r} is not Create, Update or Delete")
    spec = LogGroupSpec.from_properties(event.get("ResourceProperties"))
    arn = log_group_arn(str(event.get("StackId", "")), spec.name)
    outcome = ensure_log_group(logs, spec, arn=arn)
    LOGGER.info(
        "%s log group %s (retention %d days, KMS key %s)",
        outcome,
        spec.name,
        spec.retention_in_days,
        spec.kms_key_id or "none",
    )
    return {
        "PhysicalResourceId": spec.name,
        "Data": {"LogGroupName": spec.name, "Arn": arn, "Outcome": outcome},
    }
