"""preview on pairs of templates: the repository's ProdStack (the session's synth) against a
synth with one model's artifact changed, an API-only change and two in-place risks (both small
hand edits of the synthesized template, so only one extra app is synthesized)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, one_line_error, stub_missing_stack
from tests.conftest import Synthesized
from tests.infra.test_rollout_replacement import PROD
from tests.support.environments import with_new_model_data

STACK = "ProdStack"


@pytest.fixture(scope="module")
def retrained(retrained_prod: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """ProdStack with fraud-detector's model artifact changed, built as app.py builds it."""
    return retrained_prod("fraud-detector")


def folder(tmp_path: Path, name: str, template: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / f"{STACK}.template.json").write_text(json.dumps(template))
    return path


def by_path(template: dict[str, Any], suffix: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in template["Resources"].values()
        if r["Metadata"]["aws:cdk:path"] == f"{STACK}/{suffix}"
    ]
    return found


def preview(
    run: Run, tmp_path: Path, before: dict[str, Any], after: dict[str, Any], *extra: str
) -> Any:
    return run(
        "preview", "--env", "prod", "--from", folder(tmp_path, "a", before),
        "--to", folder(tmp_path, "b", after), *extra,
    )  # fmt: skip


def test_a_model_change(
    run: Run, synthesized: Synthesized, retrained: dict[str, Any], tmp_path: Path
) -> None:
    result = preview(run, tmp_path, synthesized.templates[STACK], retrained, "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    models = {m["model"]: m for m in plan["models"]}
    fraud = models["fraud-detector"]
    assert fraud["new_endpoint"] is True
    assert (fraud["blue"], fraud["green"]) == (
        PROD.endpoint_name(PROD.models[0]),
        with_new_model_data(PROD, "fraud-detector").endpoint_name(
            with_new_model_data(PROD, "fraud-detector").models[0]
        ),
    )
    assert fraud["causes"] == [
        {
            "field": "Model.PrimaryContainer.ModelDataUrl",
            "before": "s3://ml-models-prod/fraud-detector/v2/model.tar.gz",
            "after": "s3://ml-models-prod/fraud-detector/v2/retrained/model.tar.gz",
        }
    ]
    # Canary 10% for 5 minutes: 8 min to create green, 5 of canary, 5 of post-traffic wait.
    assert (fraud["strategy"], fraud["rollout_minutes"]) == ("Canary10Percent5Minutes", 18)
    assert (fraud["overlap_instances"], fraud["instance_type"]) == (2, "ml.c5.xlarge")
    assert fraud["overlap_cost"] == 0.12  # 2 x $0.204 x 18/60
    replaced = {c["path"] for c in fraud["changes"] if c["action"] == "replace"}
    assert "fraud-detector/Endpoint/Resource" in replaced
    assert models["churn-xgboost"] == {
        **models["churn-xgboost"],
        "new_endpoint": False,
        "changes": [],
    }
    assert plan["risks"] == []
    # The dashboard names the live endpoint: it follows green, in place.
    assert plan["shared"] == [
        {
            "action": "update",
            "type": "AWS::CloudWatch::Dashboard",
            "path": "Dashboard/Resource/Resource",
        }
    ]

    (tmp_path / "readable").mkdir()
    readable = preview(run, tmp_path / "readable", synthesized.templates[STACK], retrained)
    assert readable.exit_code == 0
    assert (
        f"fraud-detector: NEW ENDPOINT {fraud['green']} beside {fraud['blue']}" in readable.stdout
    )
    assert "because Model.PrimaryContainer.ModelDataUrl:" in readable.stdout
    assert "churn-xgboost: no new endpoint (no change)" in readable.stdout


def test_an_api_only_change(run: Run, synthesized: Synthesized, tmp_path: Path) -> None:
    before = synthesized.templates[STACK]
    after = copy.deepcopy(before)
    stage = by_path(after, "PredictionApi/Resource/DeploymentStage.v1/Resource")
    for setting in stage["Properties"]["MethodSettings"]:
        setting["ThrottlingRateLimit"] = 150
    result = preview(run, tmp_path, before, after, "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert not any(m["new_endpoint"] or m["changes"] for m in plan["models"])
    assert plan["shared"] == [
        {
            "action": "update",
            "type": "AWS::ApiGateway::Stage",
            "path": "PredictionApi/Resource/DeploymentStage.v1/Resource",
        }
    ]
    assert plan["risks"] == []


def test_an_in_place_replacement_is_a_risk(
    run: Run, synthesized: Synthesized, tmp_path: Path
) -> None:
    before = synthesized.templates[STACK]
    after = copy.deepcopy(before)
    by_path(after, "fraud-detector/Frontend/Alias/Resource")["Properties"]["Name"] = "live-v2"
    result = preview(run, tmp_path, before, after)
    assert result.exit_code == 1
    assert (
        "RISK fraud-detector/Frontend/Alias/Resource (AWS::Lambda::Alias): replaced in place: "
        "serves traffic while replaced"
    ) in result.stdout


def test_an_endpoint_updated_under_its_own_name_is_a_risk(
    run: Run, synthesized: Synthesized, tmp_path: Path
) -> None:
    """An endpoint-config change that does not reach the fingerprint: SageMaker would swap the
    fleet of the live endpoint, outside CodeDeploy."""
    before = synthesized.templates[STACK]
    after = copy.deepcopy(before)
    config = by_path(after, "fraud-detector/Endpoint/EndpointConfig")
    config["Properties"]["ProductionVariants"][0]["InitialInstanceCount"] = 3
    result = preview(run, tmp_path, before, after, "--json")
    assert result.exit_code == 1
    risks = json.loads(result.stdout)["risks"]
    assert [(r["path"], r["type"]) for r in risks] == [
        ("fraud-detector/Endpoint/Resource", "AWS::SageMaker::Endpoint")
    ]
    assert "updated in place" in risks[0]["reason"]


def guardrails_change(synthesized: Synthesized, **variant: Any) -> tuple[Any, Any]:
    """ProdStack with churn-xgboost's (endpoint-guardrails) variant edited: the config is
    replaced and the endpoint updated in place, as for a new model version."""
    before = synthesized.templates[STACK]
    after = copy.deepcopy(before)
    config = by_path(after, "churn-xgboost/Endpoint/EndpointConfig")
    config["Properties"]["ProductionVariants"][0].update(variant)
    return before, after


def test_an_endpoint_guardrails_update_is_sagemakers_rollout(
    run: Run, synthesized: Synthesized, tmp_path: Path
) -> None:
    """No risk: the endpoint's DeploymentConfig is the rollout (a 10% canary and two 5-minute
    bakes after 8 minutes of provisioning, 3 more instances meanwhile)."""
    result = preview(run, tmp_path, *guardrails_change(synthesized, InitialInstanceCount=3))
    assert result.exit_code == 0, result.output
    assert "churn-xgboost: UPDATED IN PLACE prod-churn-xgboost (SageMaker's own rollout)" in (
        result.stdout
    )
    assert "because EndpointConfig.ProductionVariants[0].InitialInstanceCount: 2 -> 3" in (
        result.stdout
    )
    assert "rollout endpoint-guardrails canary, about 18 min with two fleets: +3 x ml.m5.large" in (
        result.stdout
    )
    assert "RISK" not in result.stdout


def test_an_instance_type_change_of_an_autoscaled_guardrails_model_is_a_risk(
    run: Run, synthesized: Synthesized, tmp_path: Path
) -> None:
    before, after = guardrails_change(synthesized, InstanceType="ml.m5.xlarge")
    result = preview(run, tmp_path, before, after, "--json")
    assert result.exit_code == 1
    (risk,) = json.loads(result.stdout)["risks"]
    assert risk["path"] == "churn-xgboost/Endpoint/Resource"
    assert risk["reason"].startswith(
        "instance type ml.m5.large -> ml.m5.xlarge of a variant that autoscaling scales: "
        "SageMaker refuses the update until the variant is deregistered"
    )


def test_deployed_template_from_cloudformation(
    run: Run, synthesized: Synthesized, cloudformation: Any, tmp_path: Path
) -> None:
    template = synthesized.templates[STACK]
    cloudformation.add_response(
        "get_template",
        {"TemplateBody": json.dumps(template)},
        {"StackName": STACK, "TemplateStage": "Original"},
    )
    result = run("preview", "--env", "prod", "--to", folder(tmp_path, "b", template), "--json")
    assert result.exit_code == 0, result.output
    assert not any(m["changes"] for m in json.loads(result.stdout)["models"])


def test_missing_stack(
    run: Run, synthesized: Synthesized, cloudformation: Any, tmp_path: Path
) -> None:
    stub_missing_stack(cloudformation, "get_template", STACK)
    result = run(
        "preview", "--env", "prod", "--to", folder(tmp_path, "b", synthesized.templates[STACK])
    )
    assert result.exit_code == 3
    assert one_line_error(result).startswith("Error: stack ProdStack not found in us-east-1")


def without_model(template: dict[str, Any], name: str) -> dict[str, Any]:
    """``template`` without the resources of the model ``name`` (its route stays: a hand edit
    that is enough for the plan, which finds models by their endpoints)."""
    fewer = copy.deepcopy(template)
    fewer["Resources"] = {
        logical_id: resource
        for logical_id, resource in fewer["Resources"].items()
        if not resource["Metadata"]["aws:cdk:path"].startswith(f"{STACK}/{name}/")
    }
    return fewer


@pytest.mark.parametrize("case", ["added", "removed"])
def test_a_model_added_or_removed_is_no_rollout(
    run: Run, synthesized: Synthesized, tmp_path: Path, case: str
) -> None:
    """A new model's endpoint is created with nothing beside it and nothing to shift (its alias
    starts at its version): no causes, canary or overlap; a removed one is deleted."""
    full = synthesized.templates[STACK]
    fewer = without_model(full, "churn-xgboost")
    before, after = (fewer, full) if case == "added" else (full, fewer)
    result = preview(run, tmp_path, before, after, "--json")
    assert result.exit_code == 0, result.output
    churn = {m["model"]: m for m in json.loads(result.stdout)["models"]}["churn-xgboost"]
    endpoint = PROD.endpoint_name(next(m for m in PROD.models if m.name == "churn-xgboost"))
    added = case == "added"
    assert (churn["added"], churn["removed"], churn["new_endpoint"]) == (added, not added, added)
    assert (churn["blue"], churn["green"]) == ((None, endpoint) if added else (endpoint, None))
    assert {change["action"] for change in churn["changes"]} == {"add" if added else "remove"}
    assert (churn["causes"], churn["strategy"], churn["overlap_instances"]) == ([], None, None)
    assert churn["overlap_cost"] is None
    text = run(
        "preview", "--env", "prod", "--from", tmp_path / "a", "--to", tmp_path / "b"
    ).output  # fmt: skip
    if added:
        assert f"churn-xgboost: NEW MODEL, endpoint {endpoint} created (" in text
        assert "without a canary (nothing to shift from)" in text
    else:
        assert f"churn-xgboost: REMOVED, endpoint {endpoint} deleted with its route" in text
    assert "beside" not in text


def test_a_strategy_switch_is_the_first_cause_of_the_new_endpoint(
    run: Run, synthesized: Synthesized, tmp_path: Path
) -> None:
    """churn-xgboost from endpoint-guardrails to frontend-alias, by hand: its endpoint loses
    SageMaker's DeploymentConfig and gets a name of the frontend-alias scheme."""
    after = copy.deepcopy(synthesized.templates[STACK])
    endpoint = by_path(after, "churn-xgboost/Endpoint/Resource")["Properties"]
    del endpoint["DeploymentConfig"]
    endpoint["EndpointName"] += "-af32c7d7"
    result = preview(run, tmp_path, synthesized.templates[STACK], after, "--json")
    assert result.exit_code == 0, result.output
    churn = {m["model"]: m for m in json.loads(result.stdout)["models"]}["churn-xgboost"]
    assert churn["new_endpoint"] is True
    assert churn["causes"][0] == {
        "field": "deployment.strategy",
        "before": "endpoint-guardrails",
        "after": "frontend-alias",
    }
    (tmp_path / "back").mkdir()
    back = preview(run, tmp_path / "back", after, synthesized.templates[STACK], "--json")
    assert back.exit_code == 0, back.output
    churn = {m["model"]: m for m in json.loads(back.stdout)["models"]}["churn-xgboost"]
    assert churn["causes"][0] == {
        "field": "deployment.strategy",
        "before": "frontend-alias",
        "after": "endpoint-guardrails",
    }
