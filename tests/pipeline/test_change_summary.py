"""The one-line summary of the release preview the manual approval shows, on previews of the
session's synthesized stage templates (a model approval; the takeover of a hand-deployed stack)
and on the ways the preview can fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.cli.release_plan import release_plan
from safe_sagemaker.pipeline import change_summary
from safe_sagemaker.pipeline.change_summary import summarize_files, summarize_preview
from tests.pipeline.conftest import APPROVED_PACKAGE, PINNED_PACKAGE, PipelineSynth
from tests.pipeline.test_approved_packages import DEV, REGISTRY_MODEL, model

CREATE_MINUTES = 8.0


def _stage(synth: PipelineSynth, stage: str) -> dict[str, Any]:
    (key,) = [k for k in synth.stage_templates if k.startswith(f"{stage}/")]
    return synth.stage_templates[key]


def _preview(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What ``safe-sagemaker preview --json`` prints for these two DevStack templates."""
    return release_plan(before, after, "DevStack", CREATE_MINUTES).as_json()


def test_a_model_approval_in_dev(
    pipeline_synth: PipelineSynth, approved_synth: PipelineSynth
) -> None:
    """The pipeline deployed version 3 before; the approval of version 4 brings a new endpoint."""
    document = _preview(_stage(pipeline_synth, "Dev"), _stage(approved_synth, "Dev"))
    plans = {plan["model"]: plan for plan in document["models"]}
    assert set(plans) == {"fraud-detector", REGISTRY_MODEL}
    blue = DEV.endpoint_name(model(DEV, REGISTRY_MODEL))
    green = plans[REGISTRY_MODEL]["green"]
    assert (plans[REGISTRY_MODEL]["blue"], plans[REGISTRY_MODEL]["new_endpoint"]) == (blue, True)
    assert plans[REGISTRY_MODEL]["causes"] == [
        {
            "field": "Model.Containers[0].ModelPackageName",
            "before": PINNED_PACKAGE,
            "after": APPROVED_PACKAGE,
        }
    ]
    summary = summarize_preview(document)
    assert summary.startswith(
        f"0 risk(s). {REGISTRY_MODEL}: NEW ENDPOINT {green} beside {blue} because "
        "Model.Containers[0].ModelPackageName model-package/churn-scorer/3 -> "
        "model-package/churn-scorer/4; AllAtOnce, about 13 min. "
    )
    assert "fraud-detector: no new endpoint (no change)." in summary
    assert len(summary) <= change_summary.DEFAULT_LIMIT


def test_the_takeover_of_a_hand_deployed_stack(pipeline_synth: PipelineSynth) -> None:
    """The deployed template's paths start at the stack, the stage's at the pipeline: the same
    models are found, CDK's own metadata (construct and asset paths) is no change, and only
    what CDK derives from the construct path is replaced (README: the first takeover)."""
    document = _preview(pipeline_synth.templates["DevStack"], _stage(pipeline_synth, "Dev"))
    assert [plan["new_endpoint"] for plan in document["models"]] == [False, False]
    assert {plan["model"] for plan in document["models"]} == {"fraud-detector", REGISTRY_MODEL}
    assert document["risks"] == []
    changed = {
        change["type"]
        for plan in document["models"]
        for change in plan["changes"]
        if change["action"] in ("replace", "update")
    }
    assert "AWS::SageMaker::Endpoint" not in changed
    assert "AWS::Lambda::Function" not in changed
    summary = summarize_preview(document)
    assert summary.startswith("0 risk(s). ")
    assert f"{REGISTRY_MODEL}: no new endpoint (" in summary


def test_risks_come_first_and_the_line_is_cut_to_the_limit() -> None:
    document = {
        "models": [
            {
                "model": f"model-{number}",
                "new_endpoint": False,
                "changes": [{"action": "update", "type": "AWS::Lambda::Function", "path": "x"}],
            }
            for number in range(40)
        ],
        "shared": [{"action": "replace", "type": "AWS::ApiGateway::RestApi", "path": "Api"}],
        "risks": [
            {"path": "Api/Resource", "type": "AWS::ApiGateway::RestApi", "reason": "replaced"}
        ],
    }
    summary = summarize_preview(document)
    assert summary.startswith(
        "1 risk(s). RISK Api/Resource (AWS::ApiGateway::RestApi): replaced. "
        "model-0: no new endpoint (1 update)."
    )
    assert len(summary) == change_summary.DEFAULT_LIMIT
    assert summary.endswith("...")
    assert summarize_preview({**document, "models": []}) == (
        "1 risk(s). RISK Api/Resource (AWS::ApiGateway::RestApi): replaced. shared: 1 replace."
    )


def test_a_model_that_moves_between_stacks() -> None:
    """A switch of nested_model_stacks: the preview's risk, then the model as moved."""
    changes = [{"action": action, "type": "AWS::Lambda::Function", "path": "x"}
               for action in ("add", "remove")]  # fmt: skip
    document = {
        "models": [{"model": "scorer", "new_endpoint": False, "moved": ["", "scorer"],
                    "changes": changes}],
        "shared": [],
        "risks": [{"path": "scorer/scorer/Endpoint/Resource", "type": "AWS::SageMaker::Endpoint",
                   "reason": "moves"}],
    }  # fmt: skip
    assert summarize_preview(document) == (
        "1 risk(s). RISK scorer/scorer/Endpoint/Resource (AWS::SageMaker::Endpoint): moves. "
        "scorer: MOVES between stacks (1 add, 1 remove)."
    )


def test_a_model_added_and_one_removed() -> None:
    def plan(name: str, action: str, **fields: Any) -> dict[str, Any]:
        change = {"action": action, "type": "AWS::SageMaker::Endpoint", "path": "x"}
        return {"model": name, "changes": [change], **fields}

    document = {
        "models": [
            plan("new", "add", new_endpoint=True, added=True, blue=None, green="prod-new"),
            plan("old", "remove", new_endpoint=False, removed=True, blue="prod-old", green=None),
        ],
        "shared": [],
        "risks": [],
    }
    assert summarize_preview(document) == (
        "0 risk(s). new: NEW MODEL, endpoint prod-new (1 add). "
        "old: REMOVED, endpoint prod-old (1 remove)."
    )


def test_when_the_preview_cannot_run(tmp_path: Path) -> None:
    preview, stderr = tmp_path / "preview.json", tmp_path / "preview.err"
    preview.write_text("")
    stderr.write_text(
        "Error: stack DevStack not found in us-east-1: deploy it (npx cdk deploy DevStack) "
        "or check --region/--profile\n"
    )
    assert summarize_files(preview, stderr) == (
        "no release preview (Error: stack DevStack not found in us-east-1: deploy it (npx cdk "
        "deploy DevStack) or check --region/--profile); read the ChangeSummary step's log"
    )
    assert summarize_files(tmp_path / "absent.json", tmp_path / "absent.err") == (
        "no release preview (no output); read the ChangeSummary step's log"
    )


def test_main_prints_one_line(
    pipeline_synth: PipelineSynth,
    approved_synth: PipelineSynth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = _preview(_stage(pipeline_synth, "Dev"), _stage(approved_synth, "Dev"))
    preview = tmp_path / "preview.json"
    preview.write_text(json.dumps(document, indent=2))
    assert change_summary.main([str(preview), str(tmp_path / "preview.err")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.strip() == summarize_preview(document)
    assert change_summary.main([str(preview)]) == 2
