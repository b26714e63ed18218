"""ModelEndpoint: Model, EndpointConfig, Endpoint and a least-privilege execution role."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

from safe_sagemaker.config import load_environments

PROD = next(e for e in load_environments() if e.name == "prod")
FRAUD = PROD.models[0]


def test_endpoint_name_is_a_literal_from_the_fingerprint(prod_template: Any) -> None:
    endpoints = prod_template.find_resources("AWS::SageMaker::Endpoint")
    names = sorted(r["Properties"]["EndpointName"] for r in endpoints.values())
    assert names == sorted(PROD.endpoint_name(m) for m in PROD.models)
    for model in PROD.models:
        name = PROD.endpoint_name(model)
        # endpoint-guardrails: one stable name; SageMaker updates that endpoint in place.
        pattern = (
            r"prod-[a-z0-9-]+" if PROD.endpoint_native(model) else r"prod-[a-z0-9-]+-[0-9a-f]{8}"
        )
        assert re.fullmatch(pattern, name) and len(name) <= 63


def test_model_serves_the_configured_image_and_artifact(prod_template: Any) -> None:
    prod_template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "Image": FRAUD.image_uri,
                "ModelDataUrl": FRAUD.model_data_url,
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            }
        },
    )


def test_endpoint_config_has_the_configured_variant(prod_template: Any) -> None:
    prod_template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "VariantName": "primary",
                        "InstanceType": "ml.c5.xlarge",
                        "InitialInstanceCount": 2,
                        "InitialVariantWeight": 1,
                    }
                )
            ],
            "KmsKeyId": Match.any_value(),
        },
    )


def _role_statements(template: Any, model_name: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    for logical_id, policy in policies.items():
        if logical_id.startswith(model_name.replace("-", "") + "EndpointExecutionRole"):
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no execution role policy for {model_name}")


def test_execution_role_reads_only_the_model_artifact(prod_template: Any) -> None:
    statements = _role_statements(prod_template, "fraud-detector")
    s3 = [s for s in statements if "s3:GetObject" in str(s["Action"])]
    assert len(s3) == 1
    assert s3[0]["Action"] == "s3:GetObject"
    resource = s3[0]["Resource"]["Fn::Join"][1]
    assert resource[-1] == ":s3:::ml-models-prod/fraud-detector/v2/model.tar.gz"
    assert not any("s3:List" in str(s["Action"]) for s in statements)


@pytest.mark.parametrize(
    ("model_index", "repository"),
    [
        (0, ":ecr:us-east-1:123456789012:repository/ml-serving"),
        # AWS-owned prebuilt image: scoped to that repository, nothing broader.
        (1, ":ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
    ],
)
def test_execution_role_pulls_only_its_image_repository(
    prod_template: Any, model_index: int, repository: str
) -> None:
    statements = _role_statements(prod_template, PROD.models[model_index].name)
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert len(pulls) == 1
    assert pulls[0]["Resource"]["Fn::Join"][1][-1] == repository
    token = [s for s in statements if s["Action"] == "ecr:GetAuthorizationToken"]
    assert token == [{"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}]


def test_execution_role_writes_only_its_own_log_group(prod_template: Any) -> None:
    group = f"/aws/sagemaker/Endpoints/{PROD.endpoint_name(FRAUD)}"
    prod_template.has_resource_properties(
        "Custom::EndpointLogGroup",
        {"LogGroupName": group, "RetentionInDays": "90", "KmsKeyId": Match.any_value()},
    )
    statements = _role_statements(prod_template, "fraud-detector")
    log_statements = [s for s in statements if "logs:" in str(s["Action"])]
    assert log_statements
    for statement in log_statements:
        (arn,) = [statement["Resource"]] if isinstance(statement["Resource"], dict) else []
        assert arn["Fn::Join"][1][-1] == f":log-group:{group}:*"


def test_every_role_trusts_only_sagemaker(prod_template: Any) -> None:
    roles = prod_template.find_resources(
        "AWS::IAM::Role",
        {"Properties": {"Description": Match.string_like_regexp("SageMaker endpoint")}},
    )
    assert len(roles) == len(PROD.models)
    for role in roles.values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def _endpoint_log_groups(template: Any) -> dict[str, Any]:
    groups: dict[str, Any] = template.find_resources("Custom::EndpointLogGroup")
    return groups


def test_endpoint_log_group_is_adopted_or_created_by_the_stacks_provider(
    prod_template: Any,
) -> None:
    """A rolled-back version deployed again (or a revert) finds its group and adopts it: no
    ``AWS::Logs::LogGroup`` that would fail with "already exists"."""
    groups = _endpoint_log_groups(prod_template)
    assert sorted(g["Properties"]["LogGroupName"] for g in groups.values()) == sorted(
        f"/aws/sagemaker/Endpoints/{PROD.endpoint_name(m)}" for m in PROD.models
    )
    names = [
        r["Properties"].get("LogGroupName")
        for r in prod_template.find_resources("AWS::Logs::LogGroup").values()
    ]
    assert not any(str(n).startswith("/aws/sagemaker/Endpoints/") for n in names)
    (provider_id,) = {g["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for g in groups.values()}
    assert provider_id.startswith("EndpointLogGroupProviderframeworkonEvent")
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == str(PROD.log_retention_days)
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]}
        assert group["Properties"]["Tags"] == PROD.tags
        # Kept on Delete by the handler (which logs that it kept it), not by a Retain policy
        # that would skip calling it.
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_endpoint_waits_for_its_log_group(prod_template: Any) -> None:
    """SageMaker would otherwise create the group itself, unencrypted and never expiring."""
    groups = _endpoint_log_groups(prod_template)
    by_name = {g["Properties"]["LogGroupName"]: k for k, g in groups.items()}
    for endpoint in prod_template.find_resources("AWS::SageMaker::Endpoint").values():
        name = endpoint["Properties"]["EndpointName"]
        assert by_name[f"/aws/sagemaker/Endpoints/{name}"] in endpoint["DependsOn"]


def test_execution_role_publishes_only_endpoint_instance_metrics(prod_template: Any) -> None:
    statements = _role_statements(prod_template, "fraud-detector")
    metrics = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics == [
        {
            "Action": "cloudwatch:PutMetricData",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
