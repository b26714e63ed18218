"""The prediction API of the real app (DevStack, ProdStack), from the session's one synth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from safe_sagemaker.cfn_replacements import references
from safe_sagemaker.config import load_environments

ENVIRONMENTS = {env.stack_name: env for env in load_environments()}
STACKS = sorted(ENVIRONMENTS)


def resources(synthesized: Any, stack: str, type_: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in synthesized.templates[stack]["Resources"].items()
        if resource["Type"] == type_
    }


def only(synthesized: Any, stack: str, type_: str) -> dict[str, Any]:
    found = resources(synthesized, stack, type_)
    assert len(found) == 1, f"{stack}: expected one {type_}, found {len(found)}"
    return next(iter(found.values()))


def api_logical_id(synthesized: Any, stack: str) -> str:
    return next(iter(resources(synthesized, stack, "AWS::ApiGateway::RestApi")))


@pytest.mark.parametrize("stack", STACKS)
def test_one_regional_rest_api_with_one_post_route_per_model(synthesized: Any, stack: str) -> None:
    api = only(synthesized, stack, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    methods = resources(synthesized, stack, "AWS::ApiGateway::Method")
    assert sorted(m["Properties"]["HttpMethod"] for m in methods.values()) == ["POST"] * len(
        ENVIRONMENTS[stack].models
    )
    path_parts = {
        r["Properties"]["PathPart"]
        for r in resources(synthesized, stack, "AWS::ApiGateway::Resource").values()
    }
    assert path_parts == {"models", "invocations", *(m.name for m in ENVIRONMENTS[stack].models)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_method_requires_sigv4_and_none_is_open(synthesized: Any, stack: str) -> None:
    for method in resources(synthesized, stack, "AWS::ApiGateway::Method").values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
    # IAM auth needs no API key, usage plan or resource policy opening the API to anyone.
    for absent in ("AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlan"):
        assert not resources(synthesized, stack, absent)
    assert "Policy" not in only(synthesized, stack, "AWS::ApiGateway::RestApi")["Properties"]


@pytest.mark.parametrize("stack", STACKS)
def test_each_route_invokes_its_models_live_alias_by_proxy(synthesized: Any, stack: str) -> None:
    aliases = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources(synthesized, stack, "AWS::Lambda::Alias").items()
        if resource["Properties"]["Name"] == "live"
    }
    assert len(aliases) == len(ENVIRONMENTS[stack].models)
    for method in resources(synthesized, stack, "AWS::ApiGateway::Method").values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        uri_parts = integration["Uri"]["Fn::Join"][1]
        assert any(part in ({"Ref": alias} for alias in aliases) for part in uri_parts)


@pytest.mark.parametrize("stack", STACKS)
def test_lambda_permission_is_scoped_to_the_alias_this_api_stage_and_route(
    synthesized: Any, stack: str
) -> None:
    api_id = api_logical_id(synthesized, stack)
    stage_id = next(iter(resources(synthesized, stack, "AWS::ApiGateway::Stage")))
    permissions = [
        p["Properties"]
        for p in resources(synthesized, stack, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    models = [m.name for m in ENVIRONMENTS[stack].models]
    assert len(permissions) == len(models)  # no test-invoke permissions
    routes = set()
    for permission in permissions:
        assert permission["FunctionName"]["Ref"].endswith(
            tuple(
                logical_id
                for logical_id, alias in resources(synthesized, stack, "AWS::Lambda::Alias").items()
                if alias["Properties"]["Name"] == "live"
            )
        )
        source = permission["SourceArn"]["Fn::Join"][1]
        assert {"Ref": api_id} in source and {"Ref": stage_id} in source
        routes.add(source[-1])
    assert routes == {f"/POST/models/{model}/invocations" for model in models}


@pytest.mark.parametrize("stack", STACKS)
def test_requests_need_a_content_type_and_json_bodies_are_validated(
    synthesized: Any, stack: str
) -> None:
    validator = only(synthesized, stack, "AWS::ApiGateway::RequestValidator")["Properties"]
    assert validator["ValidateRequestBody"] and validator["ValidateRequestParameters"]
    model = only(synthesized, stack, "AWS::ApiGateway::Model")["Properties"]
    assert model["ContentType"] == "application/json"
    # API Gateway validates a missing body as {}: these two make the body required.
    assert model["Schema"]["minProperties"] == 1 and model["Schema"]["minItems"] == 1
    for method in resources(synthesized, stack, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        assert props["RequestParameters"] == {"method.request.header.Content-Type": True}
        assert "RequestValidatorId" in props
        assert set(props["RequestModels"]) == {"application/json"}


@pytest.mark.parametrize("stack", STACKS)
def test_binary_media_types_are_the_models_non_text_content_types(
    synthesized: Any, stack: str
) -> None:
    allowed = {t for m in ENVIRONMENTS[stack].models for t in m.allowed_content_types}
    expected = sorted(t for t in allowed if t not in {"application/json", "text/csv"})
    api = only(synthesized, stack, "AWS::ApiGateway::RestApi")["Properties"]
    assert sorted(api.get("BinaryMediaTypes", [])) == expected


def test_prod_registers_numpy_as_binary(synthesized: Any) -> None:
    api = only(synthesized, "ProdStack", "AWS::ApiGateway::RestApi")["Properties"]
    assert "application/x-npy" in api["BinaryMediaTypes"]


@pytest.mark.parametrize("stack", STACKS)
def test_stage_throttling_tracing_and_error_logging_with_the_account_role(
    synthesized: Any, stack: str
) -> None:
    api = ENVIRONMENTS[stack].api
    stage = only(synthesized, stack, "AWS::ApiGateway::Stage")["Properties"]
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "ThrottlingRateLimit": api.throttling_rate_limit,
            "ThrottlingBurstLimit": api.throttling_burst_limit,
            "MetricsEnabled": True,
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,  # never request or response bodies
        }
    ]
    # Access and execution logs both need the account's logging role; the example environments
    # ask for it, so the stage can deploy into a fresh account.
    assert api.create_cloudwatch_role and api.execution_logging
    (account,) = resources(synthesized, stack, "AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synthesized.templates[stack]["Resources"][role_id]
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"])


def test_environments_throttle_differently(synthesized: Any) -> None:
    limits = {
        stack: only(synthesized, stack, "AWS::ApiGateway::Stage")["Properties"]["MethodSettings"][
            0
        ]["ThrottlingRateLimit"]
        for stack in STACKS
    }
    assert limits["DevStack"] < limits["ProdStack"]


@pytest.mark.parametrize("stack", STACKS)
def test_access_logs_are_json_to_an_encrypted_group_with_the_environments_retention(
    synthesized: Any, stack: str
) -> None:
    stage = only(synthesized, stack, "AWS::ApiGateway::Stage")["Properties"]
    log_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "caller", "userArn", "integrationLatency"} <= set(log_format)
    assert not any("body" in key.lower() for key in log_format)
    (group_id,) = {
        ref for ref in references(stage["AccessLogSetting"]["DestinationArn"]) if "::" not in ref
    }
    group = synthesized.templates[stack]["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == ENVIRONMENTS[stack].log_retention_days
    key_id, attribute = group["Properties"]["KmsKeyId"]["Fn::GetAtt"]
    assert key_id.startswith("DataKey") and attribute == "Arn"


@pytest.mark.parametrize("stack", STACKS)
def test_web_acl_association_only_with_a_web_acl(synthesized: Any, stack: str) -> None:
    """None is given in either environment: prod associates the one it creates, dev none."""
    assert ENVIRONMENTS[stack].api.waf_web_acl_arn is None
    associations = resources(synthesized, stack, "AWS::WAFv2::WebACLAssociation")
    assert len(associations) == (1 if ENVIRONMENTS[stack].creates_web_acl else 0)


@pytest.mark.parametrize("stack", STACKS)
def test_errors_from_api_gateway_have_the_front_ends_error_shape(
    synthesized: Any, stack: str
) -> None:
    responses = resources(synthesized, stack, "AWS::ApiGateway::GatewayResponse").values()
    by_type = {r["Properties"]["ResponseType"]: r["Properties"] for r in responses}
    assert set(by_type) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in by_type.values():
        template = response["ResponseTemplates"]["application/json"]
        assert '"message":$context.error.messageString' in template
        assert '"requestId":"$context.requestId"' in template


@pytest.mark.parametrize("stack", STACKS)
def test_api_5xx_and_frontend_error_alarms_page_the_alerts_topic(
    synthesized: Any, stack: str
) -> None:
    thresholds = ENVIRONMENTS[stack].api.alarms
    alarms = resources(synthesized, stack, "AWS::CloudWatch::Alarm").values()
    topic = {"Ref": next(iter(resources(synthesized, stack, "AWS::SNS::Topic")))}
    api_5xx = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "5XXError"]
    assert len(api_5xx) == 1
    assert api_5xx[0]["Namespace"] == "AWS/ApiGateway"
    assert api_5xx[0]["Threshold"] == thresholds.api_5xx_errors
    assert {d["Name"] for d in api_5xx[0]["Dimensions"]} == {"ApiName", "Stage"}
    frontend = [
        a["Properties"]
        for a in alarms
        if a["Properties"].get("MetricName") == "Errors"
        and "ExecutedVersion" not in {d["Name"] for d in a["Properties"]["Dimensions"]}
    ]
    assert len(frontend) == len(ENVIRONMENTS[stack].models)
    for alarm in [*api_5xx, *frontend]:
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["Period"] == thresholds.period_seconds
    for alarm in frontend:
        assert alarm["Threshold"] == thresholds.frontend_errors
        resource = next(d for d in alarm["Dimensions"] if d["Name"] == "Resource")
        assert resource["Value"]["Fn::Join"][1][-1] == ":live"


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_give_the_api_and_each_models_invoke_url(synthesized: Any, stack: str) -> None:
    outputs = synthesized.templates[stack]["Outputs"]
    assert "ApiUrl" in outputs
    for model in ENVIRONMENTS[stack].models:
        url = outputs[f"InvokeUrl{model.name.replace('-', '')}"]["Value"]["Fn::Join"][1]
        assert url[-1] == f"/models/{model.name}/invocations"
    assert not any(key.startswith("PredictionApiEndpoint") for key in outputs)


def test_stack_exposes_the_api_for_the_canary_and_dashboard(synthesized: Any) -> None:
    stack = synthesized.app.node.find_child("ProdStack")
    api = stack.api
    assert api.models == tuple(m.name for m in ENVIRONMENTS["ProdStack"].models)
    assert api.route_path("fraud-detector") == "/models/fraud-detector/invocations"
    assert api.auth.value == "iam"


def test_nag_acknowledgements_on_the_api_are_exactly_the_unfixable_ones(synthesized: Any) -> None:
    suppressed: set[tuple[str, str]] = set()
    for plugin in synthesized.validation_report().get("pluginReports", []):
        for violation in plugin.get("suppressedViolations", []):
            for construct in violation.get("violatingConstructs", []):
                path = construct.get("constructPath", "")
                if "/PredictionApi/" in path:
                    suppressed.add((violation["ruleName"], path.split("/")[0]))
    # No WAF ACL configured, AWS's managed policy on the account logging role, IAM (not
    # Cognito) callers, no cache for POST inferences, no client certificate for a Lambda
    # integration; nothing else.
    assert {rule for rule, _ in suppressed} == {
        "AwsSolutions-APIG3",
        "NIST.800.53.R5-APIGWAssociatedWithWAF",
        "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
        "NIST.800.53.R5-APIGWSSLEnabled",
        "AwsSolutions-COG4",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    }
