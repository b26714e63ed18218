"""Security hardening that the compliance packs ask for, as the templates show it: alerts that
cannot be delivered land in a dead-letter queue (and raise an alarm), the access-logs bucket
is versioned."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.conftest import Synthesized
from tests.infra.cfn_text import render, resources

STACKS = ("DevStack", "ProdStack")


def dead_letter_queue(template: dict[str, Any]) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, queue in resources(template, "AWS::SQS::Queue").items()
        if "/Alerts/DeadLetterQueue/" in queue["Metadata"]["aws:cdk:path"]
    ]
    return logical_id


@pytest.mark.parametrize("stack", STACKS)
def test_every_rule_target_has_the_alerts_dead_letter_queue(
    synthesized: Synthesized, stack: str
) -> None:
    """EventBridge delivers to SNS asynchronously: an event it cannot publish goes to the DLQ
    instead of being dropped (deployment outcomes, Model Monitor findings)."""
    template = synthesized.templates[stack]
    queue = dead_letter_queue(template)
    rules = resources(template, "AWS::Events::Rule")
    assert rules
    for rule in rules.values():
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}


def _admits(statement: dict[str, Any], rule_id: str, rule_name: str | None) -> bool:
    """Whether ``statement`` lets the rule send: by its ARN, or by a pattern of its name."""
    condition = statement["Condition"]
    if condition.get("ArnEquals", {}).get("aws:SourceArn") == {"Fn::GetAtt": [rule_id, "Arn"]}:
        return True
    pattern = condition.get("ArnLike", {}).get("aws:SourceArn")
    arn = f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/{rule_name}"
    return bool(pattern and rule_name) and fnmatch.fnmatchcase(arn, render(pattern))


@pytest.mark.parametrize("stack", STACKS)
def test_the_dead_letter_queue_admits_each_rule_and_no_other_service(
    synthesized: Synthesized, stack: str
) -> None:
    """Without a statement that admits it, EventBridge cannot put a rule's undelivered event in
    the queue either, and it is lost. The models' rules share one statement (by name) so that
    the policy stays within SQS's 20 statements and 8 KB however many models there are."""
    template = synthesized.templates[stack]
    queue = dead_letter_queue(template)
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in resources(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue}]
    ]
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    # SNS for the e-mail subscriptions, where there are any.
    assert {s["Principal"]["Service"] for s in allowed} <= {
        "events.amazonaws.com",
        "sns.amazonaws.com",
    }
    from_rules = [s for s in allowed if s["Principal"] == {"Service": "events.amazonaws.com"}]
    for logical_id, rule in resources(template, "AWS::Events::Rule").items():
        name = rule["Properties"].get("Name")
        admitted = [s for s in from_rules if _admits(s, logical_id, name)]
        assert len(admitted) == 1, logical_id
    monitored = [
        r for r in resources(template, "AWS::Events::Rule").values() if "Name" in r["Properties"]
    ]
    # Prod's monitored model: its findings rule is named, and admitted by name.
    assert bool(monitored) == (stack == "ProdStack")
    by_name = [s for s in from_rules if "ArnLike" in s["Condition"]]
    assert len(by_name) == (1 if monitored else 0)
    for statement in by_name:
        pattern = render(statement["Condition"]["ArnLike"]["aws:SourceArn"])
        assert pattern.startswith("arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:")


def test_email_subscriptions_redrive_to_the_dead_letter_queue(prod_template: Any) -> None:
    prod_template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
        },
    )
    for subscription in prod_template.find_resources("AWS::SNS::Subscription").values():
        assert "RedrivePolicy" in subscription["Properties"]


@pytest.mark.parametrize("stack", STACKS)
def test_dead_letter_queue_is_encrypted_ssl_only_and_alarmed(
    synthesized: Synthesized, stack: str
) -> None:
    template = synthesized.templates[stack]
    queue = dead_letter_queue(template)
    assertions = synthesized.assertions[stack]
    assertions.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    assertions.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )
    assertions.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
            "Threshold": 0,
            "AlarmActions": Match.any_value(),
        },
    )


def test_access_logs_bucket_is_versioned(synthesized: Synthesized) -> None:
    buckets = resources(synthesized.templates["ProdStack"], "AWS::S3::Bucket")
    (access_logs,) = [
        bucket
        for bucket in buckets.values()
        if bucket["Metadata"]["aws:cdk:path"] == "ProdStack/AccessLogs/Resource/Resource"
    ]
    properties = access_logs["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


# --- least privilege and trust -----------------------------------------------------------------


def role_policies(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """The statements of every policy attached to the role (inline and AWS::IAM::Policy)."""
    role = template["Resources"][role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", STACKS)
def test_codedeploy_role_is_inline_least_privilege(synthesized: Synthesized, stack: str) -> None:
    """No AWSCodeDeployRoleForLambdaLimited (UpdateAlias on every function): this model's
    alias, its rollback alarms by the per-version name prefix, its two hooks."""
    template = synthesized.templates[stack]
    groups = resources(template, "AWS::CodeDeploy::DeploymentGroup")
    assert groups
    for group in groups.values():
        role_id = group["Properties"]["ServiceRoleArn"]["Fn::GetAtt"][0]
        role = template["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role
        statements = role_policies(template, role_id)
        granted = {a for s in statements for a in as_list(s["Action"])}
        assert granted == {
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:GetProvisionedConcurrencyConfig",
            "cloudwatch:DescribeAlarms",
            "lambda:InvokeFunction",
        }
        for statement in statements:
            assert statement["Resource"] != "*"
            if statement["Action"] == "cloudwatch:DescribeAlarms":
                arn = statement["Resource"]["Fn::Join"][1][-1]
                assert arn.startswith(f":alarm:{stack}-") and arn.endswith("-rollback-*")
            elif statement["Action"] == "lambda:InvokeFunction":
                hooks = {r["Fn::GetAtt"][0] for r in statement["Resource"]}
                assert len(hooks) == 2
                assert all("TrafficHook" in h for h in hooks)


TRUSTS_HELD_TO_THE_ACCOUNT = {
    "sagemaker.amazonaws.com",
    "codedeploy.amazonaws.com",
    "events.amazonaws.com",
}


@pytest.mark.parametrize("stack", STACKS)
def test_service_trusts_are_held_to_this_account(synthesized: Synthesized, stack: str) -> None:
    """aws:SourceAccount on every trust of a service that sets it (confused deputy)."""
    seen = set()
    for role in resources(synthesized.templates[stack], "AWS::IAM::Role").values():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            service = statement["Principal"].get("Service")
            if service in TRUSTS_HELD_TO_THE_ACCOUNT:
                seen.add(service)
                assert statement["Condition"] == {
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                }
    assert seen == TRUSTS_HELD_TO_THE_ACCOUNT


def test_capacity_calls_are_held_to_this_models_tagged_resources(
    synthesized: Synthesized,
) -> None:
    """RegisterScalableTarget and DescribeEndpointConfig are allowed on this account's
    scalable targets and endpoint configs that carry the model's tag, which the endpoint
    config and the scalable target of each autoscaled model behind the CodeDeploy shift get
    (value: the model's endpoint name prefix)."""
    from safe_sagemaker.config import load_environments

    for env in load_environments():
        template = synthesized.templates[env.stack_name]
        shifted = {
            env.endpoint_name_prefix(m)
            for m in env.models
            if m.autoscaling is not None and not env.endpoint_native(m)
        }
        for resource_type in (
            "AWS::SageMaker::EndpointConfig",
            "AWS::ApplicationAutoScaling::ScalableTarget",
        ):
            tagged = {
                tag["Value"]
                for r in resources(template, resource_type).values()
                for tag in r["Properties"].get("Tags", [])
                if tag["Key"] == "safe-sagemaker:endpoints"
            }
            assert tagged == shifted, (env.name, resource_type)


def test_alerts_publishers_get_only_what_sns_needs_of_the_key() -> None:
    """A data key to encrypt with and Decrypt to use it; no GenerateDataKey* variants."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from safe_sagemaker.constructs.alerts_topic import AlertsTopic

    stack = Stack(App(), "Alerting")
    alerts = AlertsTopic(stack, "Alerts")
    publisher = iam.Role(stack, "Publisher", assumed_by=iam.AccountRootPrincipal())
    alerts.grant_publish(publisher)
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    granted = {tuple(sorted(as_list(s["Action"]))): render(s["Resource"]) for s in statements}
    assert granted == {
        ("kms:Decrypt", "kms:GenerateDataKey"): "<AlertsKey9E1197AF.Arn>",
        ("sns:Publish",): "<AlertsE664E991>",
    }


# --- front end: reserved concurrency ---------------------------------------------------------


def test_prod_front_ends_reserve_their_configured_concurrency(synthesized: Synthesized) -> None:
    from safe_sagemaker.config import load_environments

    for env in load_environments():
        functions = {
            f["Metadata"]["aws:cdk:path"].split("/")[1]: f["Properties"]
            for f in resources(
                synthesized.templates[env.stack_name], "AWS::Lambda::Function"
            ).values()
            if f["Metadata"]["aws:cdk:path"].endswith("/Frontend/Function/Resource/Resource")
        }
        assert set(functions) == {m.name for m in env.models}
        for model in env.models:
            reserved = functions[model.name].get("ReservedConcurrentExecutions")
            assert reserved == model.reserved_concurrency
        if env.production:
            assert all(m.reserved_concurrency for m in env.models)


def test_reserved_concurrency_is_bounded(tmp_path: Any) -> None:
    from tests.infra.test_config import VALID_MODEL, env_with, error_for

    assert "reserved_concurrency': must be at least 1, not 0" in error_for(
        tmp_path, env_with({"reserved_concurrency": 0})
    )
    assert "reserved_concurrency': must be at most 900, not 901" in error_for(
        tmp_path, env_with({"reserved_concurrency": 901})
    )
    second = {**VALID_MODEL, "name": "churn", "reserved_concurrency": 500}
    body = env_with({"reserved_concurrency": 450})
    body["models"].append(second)
    message = error_for(tmp_path, body)
    assert message.startswith(
        "environment 'prod', model 'churn', field 'models[1].reserved_concurrency': the models' "
        "front ends reserve 950 concurrent executions together, over the 900"
    )


# --- front end: the web ACL production creates -------------------------------------------------


def test_prod_creates_a_web_acl_and_associates_it_with_the_stage(prod_template: Any) -> None:
    prod_template.resource_count_is("AWS::WAFv2::WebACL", 1)
    (acl_id,) = prod_template.find_resources("AWS::WAFv2::WebACL")
    prod_template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": [
                Match.object_like(
                    {
                        "Name": group,
                        "Priority": priority,
                        "OverrideAction": {"None": {}},
                        "Statement": {
                            "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}
                        },
                    }
                )
                for priority, group in enumerate(
                    ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
                )
            ]
            + [
                Match.object_like(
                    {
                        "Name": "RatePerSourceIp",
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}
                        },
                    }
                )
            ],
        },
    )
    prod_template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"WebACLArn": {"Fn::GetAtt": [acl_id, "Arn"]}, "ResourceArn": Match.any_value()},
    )
    prod_template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration", {"ResourceArn": {"Fn::GetAtt": [acl_id, "Arn"]}}
    )
    prod_template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "aws-waf-logs-ProdStack-api", "RetentionInDays": 90}
    )


def test_dev_creates_no_web_acl(dev_template: Any) -> None:
    dev_template.resource_count_is("AWS::WAFv2::WebACL", 0)
    dev_template.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)


def test_web_acl_settings_are_validated(tmp_path: Any) -> None:
    from safe_sagemaker.config import load_environment
    from tests.infra.test_config import env_with, error_for, write_env

    given = (
        "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/edge/"
        "a1b2c3d4-5678-90ab-cdef-0123456789ab"
    )
    both = env_with({}, api={"waf_web_acl_arn": given, "waf": {"enabled": True}})
    assert "waf_web_acl_arn already names the web ACL" in error_for(tmp_path, both)
    bad_group = env_with({}, api={"waf": {"managed_rule_groups": ["CommonRuleSet"]}})
    assert "not an AWS managed rule group name" in error_for(tmp_path, bad_group)
    assert "rate_limit': must be at least 10, not 5" in error_for(
        tmp_path, env_with({}, api={"waf": {"rate_limit": 5}})
    )
    env = load_environment(
        write_env(tmp_path, "prod", env_with({}, api={"waf_web_acl_arn": given}))
    )
    assert not env.creates_web_acl
    opted_out = env_with({}, api={"waf": {"enabled": False}})
    assert not load_environment(write_env(tmp_path, "prod", opted_out)).creates_web_acl
    assert load_environment(write_env(tmp_path, "prod", env_with({}))).creates_web_acl


def test_web_acl_construct_refuses_a_rate_limit_under_wafs_minimum() -> None:
    from aws_cdk import App, Stack

    from safe_sagemaker.constructs.api_web_acl import ApiWebAcl

    with pytest.raises(ValueError, match="rate_limit must be at least 10"):
        ApiWebAcl(Stack(App(), "Waf"), "Acl", rate_limit=5)
