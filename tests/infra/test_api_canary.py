"""The Synthetics canary: every model's route on the configured schedule, signed for IAM auth,
an alarm on SuccessPercent to the alerts topic, hardened artifacts, an encrypted log group with
finite retention. Production only, by default."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Fn, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Template

from safe_sagemaker.config import load_environments
from safe_sagemaker.constructs.api_canary import CODE, ApiCanary, CanaryRoute
from safe_sagemaker.nag import add_nag_checks
from tests.conftest import Synthesized
from tests.infra.cfn_text import as_list, render, resources, statements
from tests.support.lambda_modules import load_module

ENVS = {env.name: env for env in load_environments()}
PROD = ENVS["prod"]
ROUTE = CanaryRoute("m1", "/models/m1/invocations", "application/json", "{}")
canary_script = load_module("api_canary", CODE / "python" / "api_canary.py")


@pytest.fixture(scope="module")
def prod(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.templates["ProdStack"]


def the(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources(template, resource_type).items()
    return found


def canary_alarm(template: dict[str, Any]) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "CloudWatchSynthetics"
    ]
    return alarm


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def staged_code(synthesized: Synthesized, code: dict[str, Any]) -> Path:
    """The staged file of the canary's ``Code`` (an S3 key ``<asset hash>.zip``)."""
    asset_hash = render(code["S3Key"]).removesuffix(".zip")
    manifest = json.loads((synthesized.outdir / "ProdStack.assets.json").read_text())
    return synthesized.outdir / manifest["files"][asset_hash]["source"]["path"]


def test_canary_calls_every_model_route_on_schedule(
    prod: dict[str, Any], synthesized: Synthesized
) -> None:
    _, canary = the(prod, "AWS::Synthetics::Canary")
    props = canary["Properties"]
    assert props["RuntimeVersion"] == "syn-python-selenium-7.0"
    assert props["Code"]["Handler"] == "api_canary.handler"
    assert props["Schedule"]["Expression"] == f"rate({PROD.canary.schedule_minutes} minutes)"
    assert props["StartCanaryAfterCreation"] is True
    assert props["ProvisionedResourceCleanup"] == "AUTOMATIC"
    variables = props["RunConfig"]["EnvironmentVariables"]
    assert set(variables) == {"BASE_URL", "SIGN_REQUESTS"}
    api_id, _ = the(prod, "AWS::ApiGateway::RestApi")
    base = render(variables["BASE_URL"])
    assert base.startswith(f"https://<{api_id}>.execute-api.<AWS::Region>.")
    assert base.endswith("/")
    # The routes are in the script's archive, where the script reads them.
    with zipfile.ZipFile(staged_code(synthesized, props["Code"])) as archive:
        assert sorted(archive.namelist()) == ["python/api_canary.py", "python/routes.json"]
        assert archive.read("python/api_canary.py") == (CODE / "python/api_canary.py").read_bytes()
        routes_json = archive.read("python/routes.json").decode()
    assert json.loads(routes_json) == [
        {
            "name": model.name,
            "path": f"/models/{model.name}/invocations",
            "contentType": model.canary_sample.content_type,
            "body": model.canary_sample.body,
        }
        for model in PROD.models
    ]
    settings = canary_script.Settings.load({"BASE_URL": "https://api.example/v1/"}, routes_json)
    assert [route.url for route in settings.routes] == [
        f"https://api.example/v1/models/{model.name}/invocations" for model in PROD.models
    ]
    # The production API uses IAM auth: every request is signed.
    assert PROD.api.auth == "iam"
    assert variables["SIGN_REQUESTS"] == "true"
    assert props["RunConfig"]["TimeoutInSeconds"] <= PROD.canary.schedule_minutes * 60


def test_alarm_fires_when_success_drops_under_90_percent(prod: dict[str, Any]) -> None:
    canary_id, _ = the(prod, "AWS::Synthetics::Canary")
    (topic_id,) = resources(prod, "AWS::SNS::Topic")
    alarm = canary_alarm(prod)
    assert alarm["MetricName"] == "SuccessPercent"
    assert alarm["Dimensions"] == [{"Name": "CanaryName", "Value": {"Ref": canary_id}}]
    assert alarm["Statistic"] == "Average"
    assert alarm["Threshold"] == 90
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Period"] == PROD.canary.alarm_window_minutes * 60
    assert alarm["EvaluationPeriods"] == 1
    # A canary that stopped reporting is not a healthy one.
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_canary_role_may_invoke_exactly_the_model_routes(prod: dict[str, Any]) -> None:
    _, canary = the(prod, "AWS::Synthetics::Canary")
    role_id = canary["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    granted = role_statements(prod, role_id)
    api_id, _ = the(prod, "AWS::ApiGateway::RestApi")
    invoke = [
        render(resource)
        for statement in granted
        if "execute-api:Invoke" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert sorted(invoke) == sorted(
        "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
        f"<{api_id}>/v1/POST/models/{model.name}/invocations"
        for model in PROD.models
    )
    actions = {a for s in granted for a in as_list(s["Action"])}
    assert "logs:CreateLogGroup" not in actions
    assert not any(a.endswith("*") for a in actions)


def test_canary_log_group_is_precreated_encrypted_and_expiring(prod: dict[str, Any]) -> None:
    canary_id, _ = the(prod, "AWS::Synthetics::Canary")
    (group,) = [
        g["Properties"]
        for g in resources(prod, "AWS::Logs::LogGroup").values()
        if "cwsyn-" in render(g["Properties"].get("LogGroupName", ""))
    ]
    assert render(group["LogGroupName"]) == (f"/aws/lambda/cwsyn-<{canary_id}>-<{canary_id}.Id>")
    assert group["RetentionInDays"] == PROD.log_retention_days
    assert group["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"


def test_artifacts_bucket_is_hardened(prod: dict[str, Any]) -> None:
    (bucket,) = [
        b
        for b in resources(prod, "AWS::S3::Bucket").values()
        if "canary-artifacts" in render(b["Properties"].get("BucketName", ""))
    ]
    props = bucket["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "canary-artifacts/"
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == (
        PROD.canary.artifact_retention_days
    )
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert bucket["DeletionPolicy"] == "Retain"


def test_dev_runs_no_canary(synthesized: Synthesized) -> None:
    dev = synthesized.templates["DevStack"]
    assert resources(dev, "AWS::Synthetics::Canary") == {}
    assert not any(
        a["Properties"].get("Namespace") == "CloudWatchSynthetics"
        for a in resources(dev, "AWS::CloudWatch::Alarm").values()
    )


# --- the construct on its own ----------------------------------------------------------------


def library_stack() -> Stack:
    return Stack(App(), "Lib")


def test_api_key_variant_reads_its_key_at_run_time_and_passes_nag() -> None:
    app = App()
    stack = Stack(app, "KeyCanary")
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("ANY")
    key = api.add_api_key("Key")
    canary = ApiCanary(
        stack,
        "Canary",
        base_url=api.url,
        routes=[ROUTE],
        artifacts_bucket_name="key-canary-artifacts",
        api_key=key,
        schedule=Duration.minutes(5),
        alarm_window=Duration.minutes(15),
    )
    template = Template.from_stack(stack).to_json()
    _, resource = the(template, "AWS::Synthetics::Canary")
    variables = resource["Properties"]["RunConfig"]["EnvironmentVariables"]
    assert variables["SIGN_REQUESTS"] == "false"
    assert variables["API_KEY_ID"] == {"Ref": stack.get_logical_id(key.node.default_child)}  # type: ignore[arg-type]
    role_id = stack.get_logical_id(canary.role.node.default_child)  # type: ignore[arg-type]
    gets = [s for s in role_statements(template, role_id) if s["Action"] == "apigateway:GET"]
    assert [render(s["Resource"]).rsplit("/", 1)[-1] for s in gets] == [
        f"<{stack.get_logical_id(key.node.default_child)}>"  # type: ignore[arg-type]
    ]
    assert canary.access_logs is not None  # no log bucket given: it made one
    add_nag_checks(app)
    app.synth()  # fails on any unacknowledged AwsSolutions finding


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"routes": []}, "at least one"),
        ({"routes": [ROUTE, ROUTE]}, "unique"),
        ({"schedule": Duration.minutes(61)}, "1-60 minutes"),
        ({"alarm_window": Duration.minutes(5)}, "at least one schedule interval"),
        ({"sign_requests": True, "api_key": "placeholder"}, "not both"),
        (
            {"routes": [CanaryRoute("m1", Fn.join("/", ["", "models"]), "a/b", "{}")]},
            "holds a token",
        ),
    ],
)
def test_bad_props_are_rejected(props: dict[str, Any], message: str) -> None:
    stack = library_stack()
    if props.get("api_key") == "placeholder":
        props["api_key"] = apigw.RestApi(stack, "Api").add_api_key("Key")
    with pytest.raises(ValueError, match=message):
        ApiCanary(
            stack,
            "Canary",
            base_url="https://example.com/v1/",
            artifacts_bucket_name="lib-canary-artifacts",
            **{"routes": [ROUTE], **props},
        )
