"""watch, drill and preview on an environment with ``nested_model_stacks``: each model in a
nested stack of its own. This module synthesizes it once (ProdStack of the example prod config
with two models, before and after a new fraud-detector version), in cdk.out folders as
``cdk synth`` writes them; CloudFormation's answers are built from those templates (Stubber),
CodeDeploy, CloudWatch and Lambda are moto's world."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.cli.context import invoke_url_output
from safe_sagemaker.cli.rollout_state import ROLLED_BACK
from tests.cli.conftest import Run, one_line_error, stub_missing_stack
from tests.cli.rollout_world import (
    ALARMS,
    NestedResources,
    World,
    build_world,
    nested_stack_resources,
    stub_nested_resources,
    stub_resources,
    summary,
)
from tests.cli.test_drill import FakeCdk
from tests.cli.test_preview import STACK, preview
from tests.conftest import REPO_ROOT, Synthesized, cli_app
from tests.support.environments import with_new_model_data


@dataclass(frozen=True)
class NestedSynth:
    """The example environments with ``nested_model_stacks`` on, and two cdk.out folders of
    ProdStack (two models, each in a nested stack of its own) as ``cdk synth`` writes them:
    ``before`` as configured, ``after`` with fraud-detector's artifact moved (a new version)."""

    environments: Path
    before: Path
    after: Path

    @staticmethod
    def templates(folder: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """ProdStack's template in ``folder`` and its nested stacks' by file name."""
        parent = json.loads((folder / f"{STACK}.template.json").read_text())
        nested = {p.name: json.loads(p.read_text()) for p in folder.glob("*.nested.template.json")}
        return parent, nested


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> NestedSynth:
    """The one nested environment the command-line tests synthesize (two small apps)."""
    from safe_sagemaker.config import load_environment
    from safe_sagemaker.serving_stack import ModelServingStack

    environments = tmp_path_factory.mktemp("nested-environments")
    for name in ("dev", "prod"):
        raw = json.loads((REPO_ROOT / "infra" / "environments" / f"{name}.json").read_text())
        (environments / f"{name}.json").write_text(json.dumps({**raw, "nested_model_stacks": True}))
    prod = load_environment(environments / "prod.json")
    folders = []
    for config in (prod, with_new_model_data(prod, "fraud-detector")):
        folders.append(tmp_path_factory.mktemp("nested.out"))
        # The CDK CLI turns asset metadata on: it names each nested stack's template file.
        app = cli_app(folders[-1], **{"aws:cdk:enable-asset-metadata": True})
        ModelServingStack(app, STACK, config=config)
        app.synth()
    return NestedSynth(environments, *folders)


@pytest.fixture
def world(moto: None) -> World:
    return build_world()


def nested_world(nested: NestedSynth, stack: str) -> NestedResources:
    """The world's fraud-detector as deployed from the nested templates (logical ids follow
    construct paths: the same in every environment)."""
    parent, templates = nested.templates(nested.before)
    (template,) = [t for name, t in templates.items() if "frauddetector" in name]
    return nested_stack_resources(parent, template, "fraud-detector", stack)


# --- watch ---------------------------------------------------------------------------------


def test_watch_a_model_in_its_nested_stack(
    run: Run, world: World, cloudformation: Any, nested: NestedSynth
) -> None:
    """The deployment group, alias and alarms are found in the model's nested stack (by the
    ARN its parent lists), the CodeDeploy application in the parent."""
    stub_nested_resources(cloudformation, "ProdStack", nested_world(nested, "ProdStack"))
    world.set_status("Stopped")
    result = run(
        "--environments", nested.environments, "watch", "fraud-detector", "--env", "prod",
        "--no-requests", "--interval", 0, "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    cloudformation.assert_no_pending_responses()
    document = json.loads(result.stdout)
    assert (document["deployment_id"], document["outcome"]) == (world.deployment_id, ROLLED_BACK)
    assert document["alias_weights"] == {"1": 0.9, "2": 0.1}
    assert set(document["alarms"]) == set(ALARMS) and document["alarms"][ALARMS[1]] == "ALARM"
    # The route URL watch sends requests to stays an output of the top-level stack.
    parent, _ = nested.templates(nested.before)
    assert invoke_url_output("fraud-detector") in parent["Outputs"]


def test_watch_a_missing_nested_stack(run: Run, cloudformation: Any, nested: NestedSynth) -> None:
    resources = nested_world(nested, "ProdStack")
    cloudformation.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": resources.parent},
        {"StackName": "ProdStack"},
    )
    stub_missing_stack(cloudformation, "list_stack_resources", resources.arn)
    result = run("--environments", nested.environments, "watch", "fraud-detector", "--env", "prod")
    assert result.exit_code == 3
    assert one_line_error(result) == (
        f"Error: nested stack 'fraud-detector' of ProdStack not found ({resources.arn}): deploy "
        "the environment again (npx cdk deploy ProdStack) and check the stack's events"
    )


def test_watch_a_stack_without_the_models_nested_stack(
    run: Run, cloudformation: Any, nested: NestedSynth
) -> None:
    stub_resources(cloudformation, "ProdStack")  # the single-stack layout
    result = run("--environments", nested.environments, "watch", "fraud-detector", "--env", "prod")
    assert result.exit_code == 1
    assert one_line_error(result) == (
        "Error: stack ProdStack has no nested stack for model 'fraud-detector' "
        "(nested_model_stacks is on): is the model deployed (npx cdk deploy ProdStack)?"
    )


# --- drill ---------------------------------------------------------------------------------


def test_drill_a_model_in_its_nested_stack(
    run: Run,
    world: World,
    cloudformation: Any,
    monkeypatch: pytest.MonkeyPatch,
    nested: NestedSynth,
) -> None:
    """dev with nested_model_stacks: the deployment group is found in fraud-detector's nested
    stack."""
    stub_nested_resources(cloudformation, "DevStack", nested_world(nested, "DevStack"))
    cdk = FakeCdk("Stopped")
    monkeypatch.setattr("safe_sagemaker.cli.drill.popen", cdk)
    result = run(
        "--environments", nested.environments, "drill", "fraud-detector", "--env", "dev", "--yes",
        "--interval", 0, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cloudformation.assert_no_pending_responses()
    document = json.loads(result.stdout)
    assert (document["ok"], document["outcome"]) == (True, ROLLED_BACK)
    assert document["deployment_id"] != world.deployment_id
    assert cdk.overlay is not None and cdk.overlay["nested_model_stacks"] is True


# --- preview -------------------------------------------------------------------------------


def nested_paths(change: dict[str, Any]) -> dict[str, Any]:
    """A change of a model in one stack as the same change in its nested stack: the model's
    ServedModel sits below a NestedStack of the same id."""
    model, rest = change["path"].split("/", 1)
    return {**change, "path": f"{model}/{model}/{rest}"}


def changes(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((c["path"], c["action"], c["type"]) for c in plan["changes"])


def test_preview_a_model_change_across_nested_templates(
    run: Run,
    nested: NestedSynth,
    synthesized: Synthesized,
    retrained_prod: Callable[[str], dict[str, Any]],
    tmp_path: Path,
) -> None:
    """The same new version of fraud-detector, in the nested layout: the plan names the model
    and reports what it reports for the model in one stack (the same replacements, causes,
    rollout and cost), the resources at their nested paths, and the nested stack's update."""
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", nested.before, "--to", nested.after, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    before, after = synthesized.templates[STACK], retrained_prod("fraud-detector")
    inline = json.loads(preview(run, tmp_path, before, after, "--json").stdout)
    assert [m["model"] for m in plan["models"]] == ["churn-xgboost", "fraud-detector"]
    for model, one_stack in zip(plan["models"], inline["models"], strict=True):
        assert {**model, "changes": []} == {**one_stack, "changes": []}
        expected = {**one_stack, "changes": [nested_paths(c) for c in one_stack["changes"]]}
        name = model["model"]
        if one_stack["changes"]:
            stack = f"{name}.NestedStack/{name}.NestedStackResource"
            expected["changes"].append(
                {"action": "update", "type": "AWS::CloudFormation::Stack", "path": stack}
            )
        assert changes(model) == changes(expected)
    fraud = plan["models"][1]
    assert fraud["new_endpoint"] and fraud["causes"] == inline["models"][1]["causes"] != []
    assert ("fraud-detector/fraud-detector/Endpoint/Resource", "replace") in {
        (c["path"], c["action"]) for c in fraud["changes"]
    }
    assert (plan["shared"], plan["risks"]) == (inline["shared"], [])


@pytest.mark.parametrize(
    "case", ["into nested stacks", "out of nested stacks", "into nested stacks, new version"]
)
def test_preview_a_switch_of_nested_model_stacks_is_a_risk_for_each_model(
    run: Run, nested: NestedSynth, synthesized: Synthesized, case: str
) -> None:
    """Switching nested_model_stacks on a deployed environment moves every model's resources
    between stacks, which CloudFormation does by creating them anew before deleting the old:
    one plan per model, naming both stacks, and a risk each. With the endpoint's name unchanged
    the deploy fails (the name exists); with a new version it would skip the blue/green."""
    one_stack = synthesized.outdir
    before, after = {
        "into nested stacks": (one_stack, nested.before),
        "out of nested stacks": (nested.before, one_stack),
        "into nested stacks, new version": (one_stack, nested.after),
    }[case]
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", before, "--to", after, "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    plan = json.loads(result.stdout)
    assert [m["model"] for m in plan["models"]] == ["churn-xgboost", "fraud-detector"]
    retrained = case.endswith("new version")
    for model in plan["models"]:
        name = model["model"]
        assert model["moved"] == (["", name] if case.startswith("into") else [name, ""])
        assert {c["action"] for c in model["changes"]} == {"add", "remove"}
        renamed = retrained and name == "fraud-detector"
        assert model["new_endpoint"] is renamed
        assert (model["blue"] == model["green"]) is not renamed
        # Created anew, not rolled out: no strategy, duration or overlap of a shift.
        assert (model["strategy"], model["rollout_minutes"], model["overlap_instances"]) == (
            None,
            None,
            None,
        )
    reasons = [r["reason"] for r in plan["risks"]]
    assert len(reasons) == 2
    assert all("(nested_model_stacks was switched)" in reason for reason in reasons)
    assert "already exists, as do the resources named after it" in reasons[0]
    assert "so the deploy fails and rolls back" in reasons[0]
    assert ("without CodeDeploy's canary" in reasons[1]) is retrained
    text = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", before, "--to", after,
    ).output  # fmt: skip
    source, target = f"{STACK}", "nested stack churn-xgboost"
    if not case.startswith("into"):
        source, target = target, source
    assert f"churn-xgboost: MOVES from {source} into {target} (" in text


def nested_out(folder: Path, parent: dict[str, Any], nested: dict[str, dict[str, Any]]) -> Path:
    """A cdk.out holding ProdStack's template and its nested templates (by file name)."""
    folder.mkdir()
    (folder / f"{STACK}.template.json").write_text(json.dumps(parent))
    for name, template in nested.items():
        (folder / name).write_text(json.dumps(template))
    return folder


def asset_paths(parent: dict[str, Any]) -> dict[str, str]:
    """Each nested stack's logical id -> its template's file name (CDK's asset metadata)."""
    return {
        logical_id: resource["Metadata"]["aws:asset:path"]
        for logical_id, resource in parent["Resources"].items()
        if resource["Type"] == "AWS::CloudFormation::Stack"
    }


def test_preview_a_nested_risk_and_a_shared_layer_that_reaches_every_model(
    run: Run, nested: NestedSynth, tmp_path: Path
) -> None:
    """Hand edits of the nested templates: fraud-detector's alias renamed (replaced in place:
    a risk, at its nested path) and a new Powertools layer version in the parent, which every
    model's front end uses through a parameter of its nested stack."""
    parent, templates = nested.templates(nested.before)
    after_parent, after = copy.deepcopy(parent), copy.deepcopy(templates)
    (layer,) = [
        r
        for r in after_parent["Resources"].values()
        if r["Metadata"]["aws:cdk:path"] == f"{STACK}/Powertools/Resource/Resource"
    ]
    layer["Properties"]["Content"]["S3Key"] = "new-layer.zip"
    (fraud,) = [name for name in after if "frauddetector" in name]
    for resource in after[fraud]["Resources"].values():
        if resource["Metadata"]["aws:cdk:path"].endswith("fraud-detector/Frontend/Alias/Resource"):
            resource["Properties"]["Name"] = "live-v2"
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", nested.before, "--to", nested_out(tmp_path / "b", after_parent, after), "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    plan = json.loads(result.stdout)
    assert [(r["path"], r["type"]) for r in plan["risks"]] == [
        ("fraud-detector/fraud-detector/Frontend/Alias/Resource", "AWS::Lambda::Alias")
    ]
    for model in plan["models"]:
        name = model["model"]
        updated = {c["path"] for c in model["changes"] if c["action"] == "update"}
        assert f"{name}/{name}/Frontend/Function/Resource/Resource" in updated
        assert f"{name}.NestedStack/{name}.NestedStackResource" in updated
    assert {"action": "replace", "type": "AWS::Lambda::LayerVersion"} in [
        {k: c[k] for k in ("action", "type")} for c in plan["shared"]
    ]


def test_preview_nested_templates_from_cloudformation(
    run: Run, nested: NestedSynth, cloudformation: Any
) -> None:
    """The deployed side: GetTemplate of the stack, then of each nested stack by the ARN
    ListStackResources gives for it."""
    parent, templates = nested.templates(nested.before)
    arns = {
        logical_id: f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}-{logical_id}/1"
        for logical_id in asset_paths(parent)
    }
    stub_deployed(cloudformation, parent, templates, arns)
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod", "--to", nested.after,
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cloudformation.assert_no_pending_responses()
    from_dir = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", nested.before, "--to", nested.after, "--json",
    )  # fmt: skip
    assert json.loads(result.stdout) == json.loads(from_dir.stdout)


def stub_deployed(
    cloudformation: Any,
    parent: dict[str, Any],
    templates: dict[str, dict[str, Any]],
    arns: dict[str, str],
    missing: str | None = None,
) -> None:
    """GetTemplate and ListStackResources answers for the deployed nested environment; the
    nested stack with logical id ``missing`` is gone."""
    original = {"TemplateStage": "Original"}
    cloudformation.add_response(
        "get_template", {"TemplateBody": json.dumps(parent)}, {"StackName": STACK, **original}
    )
    cloudformation.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                summary(k, arn, "AWS::CloudFormation::Stack") for k, arn in arns.items()
            ]
        },
        {"StackName": STACK},
    )
    for logical_id, file_name in asset_paths(parent).items():
        if logical_id == missing:
            stub_missing_stack(cloudformation, "get_template", arns[logical_id])
            return
        cloudformation.add_response(
            "get_template",
            {"TemplateBody": json.dumps(templates[file_name])},
            {"StackName": arns[logical_id], **original},
        )


def test_preview_a_missing_nested_stack(
    run: Run, nested: NestedSynth, cloudformation: Any, tmp_path: Path
) -> None:
    parent, templates = nested.templates(nested.before)
    (logical_id, file_name) = next(iter(asset_paths(parent).items()))
    name = parent["Resources"][logical_id]["Metadata"]["aws:cdk:path"].split("/")[1]
    arns = {
        k: f"arn:aws:cloudformation:us-east-1:123456789012:stack/{k}/1" for k in asset_paths(parent)
    }
    stub_deployed(cloudformation, parent, templates, arns, missing=logical_id)
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod", "--to", nested.after
    )
    assert result.exit_code == 3
    assert one_line_error(result) == (
        f"Error: nested stack {name.removesuffix('.NestedStack')!r} of ProdStack not found "
        f"({arns[logical_id]}): deploy the environment again (npx cdk deploy ProdStack) and "
        "check the stack's events"
    )

    # A cdk.out copied without the nested templates.
    partial = nested_out(tmp_path / "partial", parent, {})
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod", "--from", partial,
        "--to", nested.after,
    )  # fmt: skip
    assert result.exit_code == 1
    assert one_line_error(result) == (
        f"Error: nested stack {name.removesuffix('.NestedStack')!r} of ProdStack not found: "
        f"{partial / file_name} is missing (copy every *.nested.template.json of the cdk.out "
        "along with the stack's template)"
    )


@pytest.mark.parametrize("case", ["added", "removed"])
def test_preview_a_model_added_or_removed_with_its_nested_stack(
    run: Run, nested: NestedSynth, tmp_path: Path, case: str
) -> None:
    """churn-xgboost's nested stack taken out of the parent by hand: as the deployed side it is
    a new model, as the synthesized side a removed one."""
    parent, templates = nested.templates(nested.before)
    fewer = copy.deepcopy(parent)
    (churn,) = [
        logical_id
        for logical_id, resource in fewer["Resources"].items()
        if resource["Type"] == "AWS::CloudFormation::Stack" and "churnxgboost" in logical_id
    ]
    del fewer["Resources"][churn]
    smaller = nested_out(tmp_path / "fewer", fewer, templates)
    before, after = (smaller, nested.before) if case == "added" else (nested.before, smaller)
    result = run(
        "--environments", nested.environments, "preview", "--env", "prod",
        "--from", before, "--to", after, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plans = {m["model"]: m for m in json.loads(result.stdout)["models"]}
    assert (plans["churn-xgboost"]["added"], plans["churn-xgboost"]["removed"]) == (
        case == "added",
        case == "removed",
    )
    stack = "churn-xgboost.NestedStack/churn-xgboost.NestedStackResource"
    action = "add" if case == "added" else "remove"
    assert {"action": action, "type": "AWS::CloudFormation::Stack", "path": stack} in plans[
        "churn-xgboost"
    ]["changes"]
    assert not plans["fraud-detector"]["added"] and not plans["fraud-detector"]["removed"]
