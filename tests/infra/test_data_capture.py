"""Data capture: every production endpoint config captures to its own prefix of a hardened,
KMS-encrypted bucket whose key only the capturing (and monitoring) roles may use, through S3,
for that bucket. Dev captures nothing and has no such bucket."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Aws, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from safe_sagemaker.config import load_environments
from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
from tests.conftest import Synthesized
from tests.infra.cfn_text import as_list, render, resources, statements

ENVS = {env.name: env for env in load_environments()}
PROD = ENVS["prod"]
PROD_ENDPOINTS = [PROD.endpoint_name(model) for model in PROD.models]
CAPTURE_BUCKET = "arn:<AWS::Partition>:s3:::prod-model-capture-<AWS::AccountId>-<AWS::Region>"


@pytest.fixture(scope="module")
def prod(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.templates["ProdStack"]


@pytest.fixture(scope="module")
def dev(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.templates["DevStack"]


def endpoint_configs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Endpoint name -> the properties of the endpoint config it serves."""
    configs = resources(template, "AWS::SageMaker::EndpointConfig")
    return {
        endpoint["Properties"]["EndpointName"]: configs[
            endpoint["Properties"]["EndpointConfigName"]["Fn::GetAtt"][0]
        ]["Properties"]
        for endpoint in resources(template, "AWS::SageMaker::Endpoint").values()
    }


def capture_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, bucket)
        for logical_id, bucket in resources(template, "AWS::S3::Bucket").items()
        if "model-capture" in render(bucket["Properties"].get("BucketName", ""))
    ]
    return found


def role_ids_by_description(template: dict[str, Any], text: str) -> set[str]:
    return {
        logical_id
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if text in role["Properties"].get("Description", "")
    }


@pytest.mark.parametrize("endpoint_name", PROD_ENDPOINTS)
def test_each_endpoint_captures_requests_and_responses_to_its_own_prefix(
    prod: dict[str, Any], endpoint_name: str
) -> None:
    capture = endpoint_configs(prod)[endpoint_name]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {
        "JsonContentTypes": ["application/json"],
        "CsvContentTypes": ["text/csv"],
    }
    assert render(capture["DestinationS3Uri"]) == (
        f"s3://prod-model-capture-<AWS::AccountId>-<AWS::Region>/datacapture/{endpoint_name}"
    )
    key_id, _ = next(iter(capture_key(prod).items()))
    assert capture["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_dev_captures_nothing_and_has_no_capture_bucket(dev: dict[str, Any]) -> None:
    assert all("DataCaptureConfig" not in c for c in endpoint_configs(dev).values())
    names = [
        render(b["Properties"].get("BucketName", ""))
        for b in resources(dev, "AWS::S3::Bucket").values()
    ]
    assert not any("model-capture" in name for name in names)


def capture_key(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: key
        for logical_id, key in resources(template, "AWS::KMS::Key").items()
        if "captured SageMaker" in key["Properties"]["Description"]
    }


def test_capture_bucket_is_hardened(prod: dict[str, Any]) -> None:
    logical_id, bucket = capture_bucket(prod)
    props = bucket["Properties"]
    (key_id,) = capture_key(prod)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert encryption["BucketKeyEnabled"] is True
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == PROD.capture_retention_days
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "data-capture/"
    assert bucket["DeletionPolicy"] == "Retain"
    assert capture_key(prod)[key_id]["Properties"]["EnableKeyRotation"] is True
    assert capture_key(prod)[key_id]["DeletionPolicy"] == "Retain"
    (policy,) = [
        p
        for p in resources(prod, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    (deny,) = statements(policy["Properties"]["PolicyDocument"])
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_logs_go_to_a_log_bucket_by_bucket_policy(prod: dict[str, Any]) -> None:
    _, bucket = capture_bucket(prod)
    target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    log_bucket = prod["Resources"][target]["Properties"]
    assert log_bucket["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    (encryption,) = log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    (policy,) = [
        p
        for p in resources(prod, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": target}
    ]
    delivery = [
        s
        for s in statements(policy["Properties"]["PolicyDocument"])
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    sources = [render(s["Condition"]["ArnLike"]["aws:SourceArn"]) for s in delivery]
    assert CAPTURE_BUCKET in sources


def test_key_policy_confines_every_data_use_to_s3_for_the_bucket(prod: dict[str, Any]) -> None:
    (key,) = capture_key(prod).values()
    root, *denials = statements(key["Properties"]["KeyPolicy"])
    assert root["Action"] == "kms:*" and render(root["Principal"]["AWS"]).endswith(":root")
    assert len(denials) == 2
    for statement in denials:
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == {"AWS": "*"}
        assert "kms:Decrypt" in statement["Action"] and "kms:GenerateDataKey" in statement["Action"]
        assert not any(
            action.startswith(("kms:Create", "kms:Put")) for action in statement["Action"]
        )
    via, context = (statement["Condition"] for statement in denials)
    assert render(via["StringNotEquals"]["kms:ViaService"]) == "s3.<AWS::Region>.amazonaws.com"
    assert [render(v) for v in context["StringNotLike"]["kms:EncryptionContext:aws:s3:arn"]] == [
        CAPTURE_BUCKET,
        CAPTURE_BUCKET + "/*",
    ]


def test_only_the_capturing_and_monitoring_roles_get_the_key_via_s3_for_the_bucket(
    prod: dict[str, Any],
) -> None:
    (key_id,) = capture_key(prod)
    users: set[str] = set()
    for policy in resources(prod, "AWS::IAM::Policy").values():
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            if statement["Resource"] != {"Fn::GetAtt": [key_id, "Arn"]}:
                continue
            users.update(role["Ref"] for role in policy["Properties"]["Roles"])
            assert not any(action.endswith("*") for action in as_list(statement["Action"]))
            condition = statement["Condition"]
            assert (
                render(condition["StringEquals"]["kms:ViaService"])
                == "s3.<AWS::Region>.amazonaws.com"
            )
            assert [
                render(v) for v in condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
            ] == [CAPTURE_BUCKET, CAPTURE_BUCKET + "/*"]
    execution_roles = role_ids_by_description(
        prod, "Runs the model container of SageMaker endpoint"
    )
    monitor_roles = role_ids_by_description(prod, "Runs Model Monitor data-quality jobs")
    assert len(execution_roles) == len(PROD.models)
    assert len(monitor_roles) == 1
    assert users == execution_roles | monitor_roles


@pytest.mark.parametrize("model", PROD.models, ids=lambda m: m.name)
def test_execution_role_writes_only_its_endpoints_capture_prefix(
    prod: dict[str, Any], model: Any
) -> None:
    endpoint_name = PROD.endpoint_name(model)
    (role_id,) = role_ids_by_description(prod, f"SageMaker endpoint {endpoint_name}")
    writes = [
        statement
        for policy in resources(prod, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
        if "s3:PutObject" in as_list(statement["Action"])
    ]
    assert [render(s["Resource"]) for s in writes] == [
        f"{CAPTURE_BUCKET}/datacapture/{endpoint_name}/*"
    ]


# --- the construct on its own ----------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> tuple[DataCaptureBucket, iam.Role, Template]:
    stack = Stack(App(), "Lib")
    bucket = DataCaptureBucket(
        stack,
        "Capture",
        bucket_name=f"lib-capture-{Aws.ACCOUNT_ID}",
        removal_policy=RemovalPolicy.DESTROY,
    )
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    bucket.grant_read_captures(reader, "lib-endpoint")
    return bucket, reader, Template.from_stack(stack)


def test_construct_makes_its_own_access_log_bucket_when_given_none(
    library: tuple[DataCaptureBucket, iam.Role, Template],
) -> None:
    bucket, _, template = library
    assert bucket.access_logs is not None
    template.resource_count_is("AWS::S3::Bucket", 2)


def test_prefixes_and_uris(library: tuple[DataCaptureBucket, iam.Role, Template]) -> None:
    bucket, _, _ = library
    assert bucket.capture_prefix("e-1") == "datacapture/e-1/"
    assert bucket.reports_prefix("e-1") == "monitoring/e-1/"


def test_reading_captures_lists_and_gets_one_prefix_only(
    library: tuple[DataCaptureBucket, iam.Role, Template],
) -> None:
    _, _, template = library
    (policy,) = resources(template.to_json(), "AWS::IAM::Policy").values()
    by_action = {
        tuple(as_list(s["Action"])): s for s in statements(policy["Properties"]["PolicyDocument"])
    }
    listing = by_action[("s3:ListBucket",)]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["datacapture/lib-endpoint/*"]}}
    assert render(by_action[("s3:GetObject",)]["Resource"]).endswith(
        ":s3:::lib-capture-<AWS::AccountId>/datacapture/lib-endpoint/*"
    )


@pytest.mark.parametrize("percentage", [0, 101])
def test_sampling_percentage_out_of_range_is_rejected(
    library: tuple[DataCaptureBucket, iam.Role, Template], percentage: int
) -> None:
    bucket, _, _ = library
    with pytest.raises(ValueError, match="between 1 and 100"):
        bucket.capture_config("e-1", sampling_percentage=percentage)
