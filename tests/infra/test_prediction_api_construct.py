"""PredictionApi and ApiAlarms as a library user sees them: small in-process stacks (cheap once
jsii runs), for the variants the repository's environments do not use and for rejected props.
The real app's API is asserted in test_prediction_api.py."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from safe_sagemaker.constructs.api_alarms import ApiAlarms
from safe_sagemaker.constructs.prediction_api import ApiAuth, PredictionApi
from safe_sagemaker.nag import add_nag_checks

ENV = Environment(account="123456789012", region="us-east-1")
WEB_ACL = (
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/acl/a1b2c3d4-5678-90ab-cdef-0123456789ab"
)


def live_alias(stack: Stack, model: str) -> lambda_.IFunction:
    return lambda_.Function.from_function_attributes(
        stack,
        f"{model}Live",
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{model}-frontend:live",
        same_environment=True,
    )


def new_stack(app: App | None = None, name: str = "Lib") -> Stack:
    return Stack(app or App(), name, env=ENV)


def build(stack: Stack | None = None, **props: Any) -> PredictionApi:
    stack = stack or new_stack()
    if "routes" not in props:
        props["routes"] = {"m1": live_alias(stack, "m1")}
    return PredictionApi(stack, "Api", **props)


@pytest.fixture(scope="module")
def api_key_variant() -> tuple[PredictionApi, Template]:
    """API keys, a WAF ACL, the account logging role and a binary type, synthesized WITH
    cdk-nag: the synth itself fails on any unacknowledged finding."""
    app = App()
    stack = new_stack(app, "KeyStack")
    api = build(
        stack,
        routes={"m1": live_alias(stack, "m1"), "m2": live_alias(stack, "m2")},
        auth=ApiAuth.API_KEY,
        allowed_content_types=["application/json", "text/csv", "image/jpeg", "application/x-npy"],
        usage_plan_throttle=apigw.ThrottleSettings(rate_limit=10, burst_limit=20),
        usage_plan_quota=apigw.QuotaSettings(limit=1000, period=apigw.Period.DAY),
        web_acl_arn=WEB_ACL,
        cloud_watch_role=True,
        execution_logging=True,
    )
    add_nag_checks(app)
    template = app.synth().get_stack_by_name("KeyStack").template
    return api, Template.from_json(template)


def test_api_key_mode_requires_a_key_on_every_method(api_key_variant: Any) -> None:
    _, template = api_key_variant
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert len(methods) == 2
    for method in methods.values():
        assert method["Properties"]["ApiKeyRequired"] is True


def test_api_key_mode_has_a_usage_plan_with_throttle_and_quota(api_key_variant: Any) -> None:
    _, template = api_key_variant
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 10, "BurstLimit": 20},
            "Quota": {"Limit": 1000, "Period": "DAY"},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)
    keys = template.find_resources("AWS::ApiGateway::ApiKey")
    assert len(keys) == 1
    # API Gateway generates the value; a value in the template would be a leaked secret.
    assert "Value" not in next(iter(keys.values()))["Properties"]


def test_web_acl_is_associated_with_the_stage(api_key_variant: Any) -> None:
    _, template = api_key_variant
    stage_id = next(iter(template.find_resources("AWS::ApiGateway::Stage")))
    association = next(iter(template.find_resources("AWS::WAFv2::WebACLAssociation").values()))
    assert association["Properties"]["WebACLArn"] == WEB_ACL
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


def test_account_logging_role_and_error_logging_only_when_asked(api_key_variant: Any) -> None:
    _, template = api_key_variant
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": [
                Match.object_like(
                    {"LoggingLevel": "ERROR", "DataTraceEnabled": False, "HttpMethod": "*"}
                )
            ]
        },
    )


def test_binary_types_are_registered_and_text_types_are_not(api_key_variant: Any) -> None:
    _, template = api_key_variant
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"BinaryMediaTypes": ["image/jpeg", "application/x-npy"]}
    )


def test_without_json_there_is_no_json_body_model() -> None:
    api = build(allowed_content_types=["text/csv"])
    template = Template.from_stack(api.rest_api.stack)
    template.resource_count_is("AWS::ApiGateway::Model", 0)
    method = next(iter(template.find_resources("AWS::ApiGateway::Method").values()))
    assert "RequestModels" not in method["Properties"]
    assert method["Properties"]["RequestParameters"] == {"method.request.header.Content-Type": True}
    assert (
        "BinaryMediaTypes"
        not in template.find_resources("AWS::ApiGateway::RestApi").popitem()[1]["Properties"]
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"routes": {}}, "at least one model"),
        ({"allowed_content_types": []}, "at least one media type"),
        ({"allowed_content_types": ["image/*"]}, "wildcards"),
        ({"throttling_rate_limit": 0}, "must be above 0"),
        ({"throttling_burst_limit": 6000}, "5000"),
        (
            {"usage_plan_quota": apigw.QuotaSettings(limit=10, period=apigw.Period.DAY)},
            "need auth=ApiAuth.API_KEY",
        ),
        ({"web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/a/b"}, "regional"),
        ({"web_acl_arn": WEB_ACL.replace("us-east-1", "eu-west-1")}, "of its own region"),
    ],
)
def test_bad_props_are_rejected_in_the_constructor(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**props)


def test_a_route_name_must_be_a_plain_path_segment() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="URL path segment"):
        build(stack, routes={"Fraud/Detector": live_alias(stack, "m1")})


def test_grant_invoke_allows_exactly_one_route() -> None:
    stack = new_stack()
    api = build(stack, routes={"m1": live_alias(stack, "m1"), "m2": live_alias(stack, "m2")})
    role = iam.Role(stack, "Canary", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    api.grant_invoke(role, "m2")
    statements = (
        Template.from_stack(stack)
        .find_resources("AWS::IAM::Policy")
        .popitem()[1]["Properties"]["PolicyDocument"]["Statement"]
    )
    assert len(statements) == 1 and statements[0]["Action"] == "execute-api:Invoke"
    arn = statements[0]["Resource"]["Fn::Join"][1]
    assert arn[-1].endswith("/POST/models/m2/invocations")


def test_grant_invoke_refuses_under_api_key_auth() -> None:
    stack = new_stack()
    api = build(stack, auth=ApiAuth.API_KEY)
    with pytest.raises(ValueError, match="give the caller the API key"):
        api.grant_invoke(iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal()))


def test_metrics_are_per_stage_or_per_route() -> None:
    api = build()
    stack = api.rest_api.stack
    stage_metric = api.metric_server_error()
    assert stage_metric.metric_name == "5XXError" and stage_metric.statistic == "Sum"
    assert set(stack.resolve(stage_metric.dimensions)) == {"ApiName", "Stage"}
    route_metric = api.metric_latency("m1", statistic="p50")
    assert route_metric.metric_name == "Latency" and route_metric.statistic == "p50"
    assert set(stack.resolve(route_metric.dimensions)) == {"ApiName", "Stage", "Method", "Resource"}
    assert stack.resolve(route_metric.dimensions)["Resource"] == "/models/m1/invocations"
    assert api.metric_latency().statistic == "p99"


def test_route_metrics_need_detailed_metrics_and_a_known_route() -> None:
    with pytest.raises(ValueError, match="detailed_metrics=True"):
        build(detailed_metrics=False).metric_count("m1")
    with pytest.raises(ValueError, match="no route for model 'nope'"):
        build().route_path("nope")


def test_api_alarms_reject_frontends_without_a_route() -> None:
    api = build()
    stack = api.rest_api.stack
    action = _NoAction()
    with pytest.raises(ValueError, match=r"\['m9'\] have no route"):
        ApiAlarms(
            stack, "Alarms", api=api, frontends={"m9": live_alias(stack, "m9")}, alarm_action=action
        )
    with pytest.raises(ValueError, match="not exceed evaluation_periods"):
        ApiAlarms(
            stack, "Alarms2", api=api, frontends={}, alarm_action=action, datapoints_to_alarm=4
        )


class _NoAction:
    """Never bound: the constructor rejects before any alarm is made."""

    def bind(self, *_: Any) -> cloudwatch.AlarmActionConfig:  # pragma: no cover
        raise AssertionError("unused")


def test_invoke_accounts_give_the_api_a_resource_policy_for_the_routes_only() -> None:
    api = build(invoke_accounts=["222222222222"])
    template = Template.from_stack(Stack.of(api))
    (rest_api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    (statement,) = rest_api["Properties"]["Policy"]["Statement"]
    principal = statement.pop("Principal")
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "execute-api:/v1/POST/*",
    }
    assert principal["AWS"]["Fn::Join"][1][-1] == ":iam::222222222222:root"


def test_without_invoke_accounts_there_is_no_resource_policy() -> None:
    template = Template.from_stack(Stack.of(build()))
    (api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    assert "Policy" not in api["Properties"]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"auth": ApiAuth.API_KEY}, "trusts other accounts' IAM principals"),
        ({"invoke_accounts": ["2222"]}, "must be 12-digit AWS account ids, not \\['2222'\\]"),
    ],
)
def test_invoke_accounts_are_account_ids_and_need_iam_auth(
    props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(**{"invoke_accounts": ["222222222222"], **props})
