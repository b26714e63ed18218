"""An environment of 50 models: each model in a nested stack of its own
(``nested_model_stacks``), one ``cdk deploy ProdStack``, every template within CloudFormation's
limits and every policy within its service's, and a deploy order in which each model's rollout
stays its own. The models have the longest names the config allows: the worst case for each
size limit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import EnvironmentConfig, ModelConfig
from tests.conftest import cfn_lint, cli_app
from tests.infra.cfn_text import compact_length, deployed_at_most, render, resources
from tests.infra.test_config import VALID_MODEL, error_for
from tests.support.environments import grown_environment

pytestmark = pytest.mark.slow

MODELS = 50
# CloudFormation's quotas for one template.
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000
# Quotas on policy documents, as the services document them (IAM and SQS count characters
# without whitespace). Inline: all inline policies of one role together.
MAX_ROLE_INLINE_POLICIES = 10_240
MAX_TRUST_POLICY = 2_048
MAX_MANAGED_POLICY = 6_144
MAX_QUEUE_POLICY_BYTES = 8_192
MAX_QUEUE_POLICY_STATEMENTS = 20
MAX_BUCKET_POLICY = 20_480
MAX_KEY_POLICY = 32_768
MAX_DASHBOARD_WIDGETS = 500
# A Lambda function's (and a Synthetics canary's) environment variables, all together.
MAX_ENVIRONMENT = 4_096
# EventBridge's default quota on a rule's event pattern (characters).
MAX_EVENT_PATTERN = 2_048
NESTED = "AWS::CloudFormation::Stack"


@dataclass
class Grown:
    config: EnvironmentConfig
    outdir: Path
    parent: dict[str, Any]
    nested: dict[str, dict[str, Any]]  # model name -> its nested template
    report: dict[str, Any]


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grown]:
    from safe_sagemaker.nag import add_nag_checks
    from safe_sagemaker.serving_stack import ModelServingStack

    config = grown_environment(MODELS, nested=True, longest_names=True)
    outdir = tmp_path_factory.mktemp("grown.out")
    app = cli_app(outdir)
    stack = ModelServingStack(app, config.stack_name, config=config)
    add_nag_checks(app)
    app.synth()
    parent = json.loads((outdir / f"{config.stack_name}.template.json").read_text())
    nested = {
        name: json.loads((outdir / nested_stack.template_file).read_text())
        for name, nested_stack in stack.model_stacks.items()
    }
    report = json.loads((outdir / "validation-report.json").read_text())
    yield Grown(config, outdir, parent, nested, report)


def test_every_model_has_a_nested_stack_of_its_own(grown: Grown) -> None:
    assert len(grown.nested) == MODELS
    assert len(resources(grown.parent, NESTED)) == MODELS
    # The parent holds no model's endpoint, function or deployment group.
    for kind in (
        "AWS::SageMaker::Endpoint",
        "AWS::Lambda::Alias",
        "AWS::CodeDeploy::DeploymentGroup",
    ):
        assert not resources(grown.parent, kind)
        assert all(len(resources(template, kind)) == 1 for template in grown.nested.values())


def test_every_template_is_within_cloudformation_limits(grown: Grown) -> None:
    paths = sorted(grown.outdir.glob("*.template.json"))
    assert len(paths) == MODELS + 1
    for path in paths:
        template = json.loads(path.read_text())
        assert len(template["Resources"]) <= MAX_RESOURCES, path.name
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS, path.name
        assert len(template.get("Parameters", {})) <= MAX_PARAMETERS, path.name
        assert path.stat().st_size <= MAX_TEMPLATE_BYTES, path.name


def _sizes(template: dict[str, Any]) -> Iterator[tuple[str, int, int]]:
    """``(what, size, quota)`` of each policy document, environment and event pattern of
    ``template``, at its longest."""
    inline: dict[str, int] = {}
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties", {})

        def size(document: Any) -> int:
            return compact_length(deployed_at_most(document, template))

        if kind == "AWS::IAM::Role":
            yield (
                f"{logical_id} trust",
                size(properties["AssumeRolePolicyDocument"]),
                MAX_TRUST_POLICY,
            )
            for policy in properties.get("Policies", []):
                inline[logical_id] = inline.get(logical_id, 0) + size(policy["PolicyDocument"])
        elif kind == "AWS::IAM::Policy":
            for role in properties.get("Roles", []):
                inline[role["Ref"]] = inline.get(role["Ref"], 0) + size(
                    properties["PolicyDocument"]
                )
        elif kind == "AWS::IAM::ManagedPolicy":
            yield logical_id, size(properties["PolicyDocument"]), MAX_MANAGED_POLICY
        elif kind == "AWS::SQS::QueuePolicy":
            document = properties["PolicyDocument"]
            yield logical_id, size(document), MAX_QUEUE_POLICY_BYTES
            yield (
                f"{logical_id} statements",
                len(document["Statement"]),
                MAX_QUEUE_POLICY_STATEMENTS,
            )
        elif kind == "AWS::S3::BucketPolicy":
            yield logical_id, size(properties["PolicyDocument"]), MAX_BUCKET_POLICY
        elif kind == "AWS::KMS::Key":
            yield logical_id, size(properties["KeyPolicy"]), MAX_KEY_POLICY
        elif kind == "AWS::Lambda::Function":
            variables = properties.get("Environment", {}).get("Variables", {})
            yield f"{logical_id} environment", size(variables), MAX_ENVIRONMENT
        elif kind == "AWS::Events::Rule" and "EventPattern" in properties:
            yield f"{logical_id} pattern", size(properties["EventPattern"]), MAX_EVENT_PATTERN
        elif kind == "AWS::Synthetics::Canary":
            variables = properties["RunConfig"].get("EnvironmentVariables", {})
            yield f"{logical_id} environment", size(variables), MAX_ENVIRONMENT
    for role, total in inline.items():
        yield f"{role} inline policies", total, MAX_ROLE_INLINE_POLICIES


def test_every_policy_environment_and_pattern_is_within_its_service_quota(grown: Grown) -> None:
    """Shared resources (the alerts queue, the canary's role and its routes, the log-group
    provider's role, the rule reporting SageMaker's in-place updates) gain a statement, a
    resource, a route or an endpoint per model; CloudFormation would only find out at deploy."""
    sizes = [
        (name, *size)
        for name, template in [("parent", grown.parent), *grown.nested.items()]
        for size in _sizes(template)
    ]
    assert len(sizes) > 10 * MODELS
    over = [entry for entry in sizes if entry[2] > entry[3]]
    assert over == []


def test_the_dashboard_is_within_cloudwatch_widget_limit(grown: Grown) -> None:
    (dashboard,) = resources(grown.parent, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(render(dashboard["Properties"]["DashboardBody"]))
    assert MODELS * 8 <= len(body["widgets"]) <= MAX_DASHBOARD_WIDGETS


def test_the_top_level_template_is_written_without_indentation(grown: Grown) -> None:
    # Indented it would be a quarter larger: with the longest names 1,075 KB at 50 models, over
    # the 1 MB, instead of 859 KB.
    text = (grown.outdir / f"{grown.config.stack_name}.template.json").read_text()
    assert "\n" not in text.strip()
    assert len(text) < 0.8 * len(json.dumps(json.loads(text), indent=1))


def _depends(template: dict[str, Any], logical_id: str) -> set[str]:
    """The resources ``logical_id`` waits for: its DependsOn, Refs and Fn::GetAtts."""
    resource = template["Resources"][logical_id]
    explicit = resource.get("DependsOn", [])
    text = json.dumps(resource.get("Properties", {}))
    refs = re.findall(r'"Ref": "([A-Za-z0-9]+)"', text)
    refs += re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text)
    return {ref for ref in refs if ref in template["Resources"]} | set(
        [explicit] if isinstance(explicit, str) else explicit
    )


def test_deploy_order_shared_resources_then_the_models_side_by_side_then_the_api(
    grown: Grown,
) -> None:
    parent = grown.parent
    stacks = set(resources(parent, NESTED))
    shared_types = {
        parent["Resources"][ref]["Type"]
        for logical_id in stacks
        for ref in _depends(parent, logical_id)
    }
    # 1. What every model uses exists first: the key, the alerts topic, the layers, the
    # CodeDeploy application and the endpoint log-group provider.
    assert {
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
        "AWS::Lambda::LayerVersion",
        "AWS::CodeDeploy::Application",
        "AWS::Lambda::Function",
    } <= shared_types
    # 2. No model's stack waits for another's: CloudFormation updates them side by side, and
    # each holds its own alias, deployment group, hooks and rollback alarms.
    for logical_id in stacks:
        assert not _depends(parent, logical_id) & stacks
    # 3. Each model's API method follows its model's stack (it invokes the alias there).
    methods = resources(parent, "AWS::ApiGateway::Method")
    post = [m for m in methods.values() if m["Properties"]["HttpMethod"] == "POST"]
    assert len(post) == MODELS
    for method in post:
        uri = render(method["Properties"]["Integration"]["Uri"])
        (stack_ref,) = set(re.findall(r"<([A-Za-z0-9]+)\.Outputs\.", uri))
        assert stack_ref in stacks


def test_cdk_nag_checks_every_nested_template_and_finds_nothing_open(grown: Grown) -> None:
    (nag,) = [r for r in grown.report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    checked = {
        construct["constructPath"].split("/")[1]
        for finding in nag["suppressedViolations"]
        for construct in finding["violatingConstructs"]
    }
    assert {model.name for model in grown.config.models} <= checked


def _normalized(template: dict[str, Any], model: ModelConfig) -> list[str]:
    """Every entry of the template (resources, outputs, parameters, ...) as text with each name
    and id that derives from the model's name blanked (logical ids and their hashes, output
    names, the endpoint name, the fingerprint), in a sorted list: the hashes decide the order
    of the template's keys, so entries are compared as a set."""

    def blank(text: str) -> str:
        text = text.replace(model.fingerprint(), "MODEL").replace(model.name, "MODEL")
        return re.sub(
            r"[\w-]*MODEL[\w-]*", "ID", text.replace(model.name.replace("-", ""), "MODEL")
        )

    return sorted(
        blank(f"{section}/{key}: {json.dumps(value, sort_keys=True)}")
        for section, entries in template.items()
        for key, value in (entries.items() if isinstance(entries, dict) else [("", entries)])
    )


def test_cfn_lint_passes_the_parent_and_each_kind_of_model_template(grown: Grown) -> None:
    # The nested templates of one kind of model differ only in its name and what derives from
    # it (checked here), so linting one of each kind covers them all.
    kinds: dict[str, tuple[str, list[str]]] = {}
    for model in grown.config.models:
        kind = model.name.split("-", 1)[1]
        normalized = _normalized(grown.nested[model.name], model)
        if kind in kinds:
            assert normalized == kinds[kind][1], model.name
        else:
            kinds[kind] = (model.name, normalized)
    paths = [str(grown.outdir / f"{grown.config.stack_name}.template.json")]
    for name, _ in kinds.values():
        (path,) = grown.outdir.glob(f"*{name.replace('-', '')}*.nested.template.json")
        paths.append(str(path))
    assert len(paths) == 3  # the parent, a fraud-detector and a churn-xgboost
    assert cfn_lint(paths) == []


def _models(count: int) -> list[dict[str, Any]]:
    return [{**VALID_MODEL, "name": f"model-{n:02d}"} for n in range(count)]


def test_one_stack_refuses_more_models_than_fit_and_names_the_fix(tmp_path: Path) -> None:
    message = error_for(tmp_path, {"models": _models(11)})
    assert "field 'models': 11 models do not fit one CloudFormation stack (at most 10" in message
    assert "set nested_model_stacks to true" in message


def test_nested_stacks_serve_at_most_fifty_models(tmp_path: Path) -> None:
    message = error_for(tmp_path, {"nested_model_stacks": True, "models": _models(51)})
    assert "field 'models': 51 models are more than one environment serves (at most 50" in message
    assert "split the models into two environments" in message
