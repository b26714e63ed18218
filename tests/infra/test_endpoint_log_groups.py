"""Endpoint log groups: one adopt-or-create provider per stack, least privilege, KMS and a
finite retention; the construct's own checks."""

from __future__ import annotations

from typing import Any

import pytest

from safe_sagemaker.config import EnvironmentConfig, load_environments
from safe_sagemaker.iam_patterns import iam_pattern_matches
from tests.conftest import Synthesized
from tests.infra.cfn_text import as_list, render, resources, statements

ENVS = {env.name: env for env in load_environments()}
PSEUDO = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"


EnvTemplate = tuple[EnvironmentConfig, dict[str, Any]]


@pytest.fixture(params=list(ENVS.values()), ids=list(ENVS))
def env_template(request: pytest.FixtureRequest, synthesized: Synthesized) -> EnvTemplate:
    """Each environment with its synthesized template."""
    env: EnvironmentConfig = request.param
    return env, synthesized.templates[env.stack_name]


def _path(resource: dict[str, Any]) -> str:
    return str(resource["Metadata"]["aws:cdk:path"])


def _at(template: dict[str, Any], kind: str, suffix: str) -> tuple[str, dict[str, Any]]:
    """The one ``kind`` resource at ``<stack>/EndpointLogGroupProvider/<suffix>``."""
    (found,) = [
        (k, v)
        for k, v in resources(template, kind).items()
        if _path(v).endswith(f"/EndpointLogGroupProvider/{suffix}")
    ]
    return found


def _handler_id(template: dict[str, Any]) -> str:
    return _at(template, "AWS::Lambda::Function", "Handler/Resource/Resource")[0]


def test_one_provider_per_stack_serves_every_endpoint(env_template: EnvTemplate) -> None:
    env, template = env_template
    handler_id = _handler_id(template)
    frameworks = [
        k
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"]
        .get("Environment", {})
        .get("Variables", {})
        .get("USER_ON_EVENT_FUNCTION_ARN")
        == {"Fn::GetAtt": [handler_id, "Arn"]}
    ]
    assert len(frameworks) == 1
    groups = resources(template, "Custom::EndpointLogGroup")
    assert len(groups) == len(env.models)
    assert {render(g["Properties"]["ServiceToken"]) for g in groups.values()} == {
        f"<{frameworks[0]}.Arn>"
    }


def test_handler_may_only_create_and_adopt_this_environments_groups(
    env_template: EnvTemplate,
) -> None:
    env, template = env_template
    _, role = _at(template, "AWS::IAM::Role", "Handler/Role/Resource")
    ((statement,),) = [statements(p["PolicyDocument"]) for p in role["Properties"]["Policies"]]
    assert statement["Action"] == [
        "logs:AssociateKmsKey",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
    ]
    patterns = sorted(render(r) for r in as_list(statement["Resource"]))
    assert patterns == sorted(
        f"{PSEUDO}/aws/sagemaker/Endpoints/{env.endpoint_name_prefix(m)}*" for m in env.models
    )
    for model in env.models:
        arn = f"{PSEUDO}/aws/sagemaker/Endpoints/{env.endpoint_name(model)}"
        assert any(iam_pattern_matches(p, arn) for p in patterns)
    # Neither another environment's endpoints nor any other log group.
    other = "staging" if env.name != "staging" else "test"
    assert not any(
        iam_pattern_matches(p, f"{PSEUDO}/aws/sagemaker/Endpoints/{other}-x-1a2b3c4d")
        or iam_pattern_matches(p, f"{PSEUDO}/aws/lambda/anything")
        for p in patterns
    )
    # No delete, no read: the handler keeps groups and never touches their events.
    _, policy = _at(template, "AWS::IAM::Policy", "Handler/Role/DefaultPolicy/Resource")
    other_actions = {
        a
        for s in statements(policy["Properties"]["PolicyDocument"])
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert other_actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }


def test_framework_role_only_invokes_the_handler_and_writes_its_own_logs(
    env_template: EnvTemplate,
) -> None:
    _, template = env_template
    handler_id = _handler_id(template)
    role_id, role = _at(template, "AWS::IAM::Role", "Framework/Role/Resource")
    assert "ManagedPolicyArns" not in role["Properties"] and "Policies" not in role["Properties"]
    _, policy = _at(template, "AWS::IAM::Policy", "Framework/Role/DefaultPolicy/Resource")
    assert policy["Properties"]["Roles"] == [{"Ref": role_id}]
    found = {
        (render(s["Action"]) if isinstance(s["Action"], str) else ",".join(s["Action"])): sorted(
            render(r) for r in as_list(s["Resource"])
        )
        for s in statements(policy["Properties"]["PolicyDocument"])
    }
    group_id, _ = _at(template, "AWS::Logs::LogGroup", "Framework/LogGroup/Resource")
    assert found == {
        "logs:CreateLogStream,logs:PutLogEvents": [f"<{group_id}.Arn>"],
        "lambda:InvokeFunction": [f"<{handler_id}.Arn>", f"<{handler_id}.Arn>:*"],
        "lambda:GetFunction": [f"<{handler_id}.Arn>"],
    }


def test_provider_logs_are_encrypted_and_expire(env_template: EnvTemplate) -> None:
    env, template = env_template
    groups = [
        v
        for v in resources(template, "AWS::Logs::LogGroup").values()
        if "/EndpointLogGroupProvider/" in _path(v)
    ]
    assert len(groups) == 2  # the handler's and the framework's
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == env.log_retention_days
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey17AFBB84", "Arn"]}


def test_data_key_lets_cloudwatch_logs_encrypt_endpoint_groups(env_template: EnvTemplate) -> None:
    """The key the custom resource passes (CreateLogGroup kmsKeyId / AssociateKmsKey): CloudWatch
    Logs must be allowed to use it for ``/aws/sagemaker/Endpoints/<name>``."""
    env, template = env_template
    key = template["Resources"]["DataKey17AFBB84"]["Properties"]["KeyPolicy"]
    (logs_statement,) = [
        s
        for s in statements(key)
        if s["Principal"].get("Service")
        == {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    ]
    assert "kms:GenerateDataKey*" in logs_statement["Action"]
    pattern = render(logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    model = env.models[0]
    assert iam_pattern_matches(
        pattern, f"{PSEUDO}/aws/sagemaker/Endpoints/{env.endpoint_name(model)}"
    )


def _library_endpoint(scope: Any, name: str, endpoint_name: str, **props: Any) -> Any:
    """A ``ModelEndpoint`` as the README's library use creates one."""
    from safe_sagemaker.constructs.model_endpoint import ModelEndpoint

    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:1.0"
    return ModelEndpoint(
        scope,
        name,
        endpoint_name=endpoint_name,
        image_uri=image,
        model_data_url=f"s3://models/{name}/model.tar.gz",
        **props,
    )


def test_endpoints_of_a_bare_stack_share_one_provider() -> None:
    """A bare stack (the README's library use): ``of`` creates the provider once."""
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from safe_sagemaker.constructs.endpoint_log_groups import EndpointLogGroupProvider

    stack = Stack(App(), "Library")
    for name in ("a", "b"):
        _library_endpoint(stack, name, f"lib-{name}-1")
    assert EndpointLogGroupProvider.of(stack) is EndpointLogGroupProvider.of(
        stack.node.find_child("a")
    )
    template = Template.from_stack(stack).to_json()
    assert len(resources(template, "Custom::EndpointLogGroup")) == 2
    handlers = [
        k
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "handler.handler"
    ]
    assert len(handlers) == 1


def test_endpoint_outside_the_providers_prefixes_is_refused() -> None:
    from aws_cdk import App, Stack

    from safe_sagemaker.constructs.endpoint_log_groups import EndpointLogGroupProvider

    stack = Stack(App(), "Prefixed")
    EndpointLogGroupProvider(
        stack, EndpointLogGroupProvider.CONSTRUCT_ID, endpoint_name_prefixes=["prod-fraud-"]
    )
    with pytest.raises(ValueError, match="starts with none of \\['prod-fraud-'\\]"):
        _library_endpoint(stack, "Other", "prod-churn-1a2b3c4d")
    with pytest.raises(ValueError, match="literal prefixes"):
        EndpointLogGroupProvider(stack, "Wild", endpoint_name_prefixes=["prod-*"])


def test_infinite_retention_is_refused() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_logs as logs

    with pytest.raises(ValueError, match="log retention must be finite, got INFINITE"):
        _library_endpoint(
            Stack(App(), "Forever"), "E", "lib-forever-1", log_retention=logs.RetentionDays.INFINITE
        )


def test_of_refuses_a_foreign_construct_at_its_id() -> None:
    from aws_cdk import App, Stack
    from constructs import Construct

    from safe_sagemaker.constructs.endpoint_log_groups import EndpointLogGroupProvider

    stack = Stack(App(), "Taken")
    Construct(stack, EndpointLogGroupProvider.CONSTRUCT_ID)
    with pytest.raises(TypeError, match="not an EndpointLogGroupProvider"):
        EndpointLogGroupProvider.of(stack)
