"""The endpoint log group custom resource: create, adopt (the retry after a rollback), update,
delete (keeps the group), bad input; logic and handler on moto."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from tests.lambdas.endpoint_log_group.conftest import (
    ACCOUNT,
    GROUP,
    KEY_ARN,
    OTHER_KEY_ARN,
    REGION,
    MotoLogs,
    event,
)

ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"


def describe(logs: MotoLogs, name: str = GROUP) -> dict[str, Any]:
    groups = logs.client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    (group,) = [g for g in groups if g["logGroupName"] == name]
    return dict(group)


def write_event(logs: MotoLogs, message: str, name: str = GROUP) -> None:
    """What SageMaker's container logging does during the first attempt."""
    logs.client.create_log_stream(logGroupName=name, logStreamName="primary/i-0abc")
    logs.client.put_log_events(
        logGroupName=name,
        logStreamName="primary/i-0abc",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
    )


def messages(logs: MotoLogs, name: str = GROUP) -> list[str]:
    found = logs.client.filter_log_events(logGroupName=name)["events"]
    return [e["message"] for e in found]


def test_create_makes_the_group_with_key_retention_and_tags(
    logic: ModuleType, logs: MotoLogs
) -> None:
    response = logic.on_event(event("Create"), logs)
    assert response == {
        "PhysicalResourceId": GROUP,
        "Data": {"LogGroupName": GROUP, "Arn": ARN, "Outcome": "created"},
    }
    group = describe(logs)
    assert group["retentionInDays"] == 90
    assert group["kmsKeyId"] == KEY_ARN
    assert logs.client.list_tags_for_resource(resourceArn=ARN)["tags"] == {
        "project": "safe-sagemaker-endpoints"
    }
    assert "associate_kms_key" not in logs.calls  # created with the key, nothing to adopt


def test_create_adopts_the_group_a_rolled_back_attempt_left(
    logic: ModuleType, logs: MotoLogs
) -> None:
    """The retry of a rolled-back version: its group is still there, with the first attempt's
    logs. The retry succeeds, and those logs stay readable under the configured retention and
    key."""
    logic.on_event(event("Create"), logs)
    write_event(logs, "model failed to load: missing weights.bin")
    logic.on_event(event("Delete"), logs)  # the first attempt's rollback

    response = logic.on_event(event("Create"), logs)

    assert response["PhysicalResourceId"] == GROUP
    assert response["Data"]["Outcome"] == "adopted"
    assert messages(logs) == ["model failed to load: missing weights.bin"]
    group = describe(logs)
    assert (group["retentionInDays"], group["kmsKeyId"]) == (90, KEY_ARN)


def test_create_adopts_a_group_made_elsewhere_and_sets_key_retention_and_tags(
    logic: ModuleType, logs: MotoLogs
) -> None:
    """A group without our settings (e.g. created by SageMaker, or before this resource
    existed) is brought to them."""
    logs.client.create_log_group(logGroupName=GROUP)
    write_event(logs, "earlier line")

    response = logic.on_event(event("Create"), logs)

    assert response["Data"]["Outcome"] == "adopted"
    group = describe(logs)
    assert (group["retentionInDays"], group["kmsKeyId"]) == (90, KEY_ARN)
    assert logs.client.list_tags_for_resource(resourceArn=ARN)["tags"] == {
        "project": "safe-sagemaker-endpoints"
    }
    assert messages(logs) == ["earlier line"]


def test_a_retried_create_converges(logic: ModuleType, logs: MotoLogs) -> None:
    first = logic.on_event(event("Create"), logs)
    second = logic.on_event(event("Create"), logs)
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == GROUP
    assert describe(logs)["retentionInDays"] == 90


def test_update_applies_new_retention_and_key_in_place(logic: ModuleType, logs: MotoLogs) -> None:
    logic.on_event(event("Create"), logs)
    write_event(logs, "kept across the update")
    response = logic.on_event(event("Update", RetentionInDays="30", KmsKeyId=OTHER_KEY_ARN), logs)
    assert response["PhysicalResourceId"] == GROUP  # same group: no replacement
    group = describe(logs)
    assert (group["retentionInDays"], group["kmsKeyId"]) == (30, OTHER_KEY_ARN)
    assert messages(logs) == ["kept across the update"]


def test_update_to_a_new_endpoint_name_moves_to_that_group(
    logic: ModuleType, logs: MotoLogs
) -> None:
    """A new model version (green) or a revert: the new name is the new physical id, so
    CloudFormation later sends a Delete for the old one, which keeps it."""
    logic.on_event(event("Create"), logs)
    green = "/aws/sagemaker/Endpoints/prod-fraud-detector-9f8e7d6c"
    response = logic.on_event(event("Update", LogGroupName=green), logs)
    assert response["PhysicalResourceId"] == green
    assert describe(logs, green)["retentionInDays"] == 90
    logic.on_event({**event("Delete"), "PhysicalResourceId": GROUP}, logs)
    assert describe(logs, GROUP)["retentionInDays"] == 90  # blue's group is kept


def test_revert_to_an_earlier_model_adopts_its_group(logic: ModuleType, logs: MotoLogs) -> None:
    green = "/aws/sagemaker/Endpoints/prod-fraud-detector-9f8e7d6c"
    logic.on_event(event("Create"), logs)
    write_event(logs, "served by the earlier model")
    logic.on_event(event("Update", LogGroupName=green), logs)
    logic.on_event({**event("Delete"), "PhysicalResourceId": GROUP}, logs)
    back = logic.on_event({**event("Update"), "PhysicalResourceId": green}, logs)
    assert back["PhysicalResourceId"] == GROUP
    assert back["Data"]["Outcome"] == "adopted"
    assert messages(logs) == ["served by the earlier model"]


def test_delete_keeps_the_group_and_its_events(logic: ModuleType, logs: MotoLogs) -> None:
    logic.on_event(event("Create"), logs)
    write_event(logs, "why green was rolled back")
    calls_before = list(logs.calls)
    response = logic.on_event(event("Delete"), logs)
    assert response == {"PhysicalResourceId": GROUP}
    assert logs.calls == calls_before  # no AWS call at all
    assert messages(logs) == ["why green was rolled back"]
    assert describe(logs)["retentionInDays"] == 90


def test_delete_after_a_failed_create_makes_no_call(logic: ModuleType, logs: MotoLogs) -> None:
    """The framework names a failed Create's resource after the request; its Delete must pass."""
    response = logic.on_event({**event("Delete"), "PhysicalResourceId": "5d2f1a4e"}, logs)
    assert response == {"PhysicalResourceId": "5d2f1a4e"}
    assert logs.calls == []


def test_without_key_or_tags_the_group_uses_logs_own_encryption(
    logic: ModuleType, logs: MotoLogs
) -> None:
    logs.client.create_log_group(logGroupName=GROUP)
    logic.on_event(event("Create", KmsKeyId="", Tags={}), logs)
    assert "kmsKeyId" not in describe(logs)
    assert logs.calls.count("associate_kms_key") == logs.calls.count("tag_resource") == 0


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"LogGroupName": None}, "property LogGroupName is required"),
        ({"LogGroupName": "bad name!"}, "LogGroupName 'bad name!' is not a log group name"),
        ({"RetentionInDays": None}, "property RetentionInDays is required"),
        ({"RetentionInDays": "a month"}, "RetentionInDays must be a whole number of days"),
        ({"RetentionInDays": "0"}, "RetentionInDays must be positive"),
        ({"KmsKeyId": "alias/logs"}, "KmsKeyId must be a KMS key ARN"),
        ({"Tags": ["project"]}, "Tags must map tag keys to string values"),
    ],
)
def test_bad_properties_fail_with_a_message_naming_the_property(
    logic: ModuleType, logs: MotoLogs, properties: dict[str, Any], message: str
) -> None:
    request = event("Create")
    for key, value in properties.items():
        if value is None:
            del request["ResourceProperties"][key]
        else:
            request["ResourceProperties"][key] = value
    with pytest.raises(logic.PropertiesError, match=message):
        logic.on_event(request, logs)
    assert logs.calls == []


def test_missing_resource_properties_and_unknown_request_fail_clearly(
    logic: ModuleType, logs: MotoLogs
) -> None:
    request = event("Create")
    del request["ResourceProperties"]
    with pytest.raises(logic.PropertiesError, match="ResourceProperties are missing"):
        logic.on_event(request, logs)
    with pytest.raises(logic.PropertiesError, match="RequestType 'Replace' is not"):
        logic.on_event(event("Replace"), logs)


def test_other_aws_errors_propagate(logic: ModuleType) -> None:
    """Only "already exists" means adopt; anything else (here IAM refusing) is raised, and the
    framework reports it to CloudFormation as FAILED."""
    from botocore.exceptions import ClientError

    class Refusing:
        def create_log_group(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                "CreateLogGroup",
            )

    with pytest.raises(ClientError, match="AccessDeniedException"):
        logic.on_event(event("Create"), Refusing())


def test_handler_creates_then_adopts_through_boto3(handler_module: ModuleType) -> None:
    """The handler's own boto3 client, on moto (without a key: moto lacks AssociateKmsKey)."""
    request = event("Create", KmsKeyId="")
    created = handler_module.handler(request, None)
    assert created["Data"]["Outcome"] == "created"
    assert handler_module.handler(event("Delete"), None) == {"PhysicalResourceId": GROUP}
    adopted = handler_module.handler(request, None)
    assert (adopted["PhysicalResourceId"], adopted["Data"]["Outcome"]) == (GROUP, "adopted")
    group = handler_module._LOGS.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert group["retentionInDays"] == 90


def test_handler_fails_loudly_on_bad_input(handler_module: ModuleType) -> None:
    """Raised, so the Provider framework reports FAILED with this message to CloudFormation."""
    request = event("Create")
    del request["ResourceProperties"]["LogGroupName"]
    with pytest.raises(ValueError, match="property LogGroupName is required"):
        handler_module.handler(request, None)
