"""The approval's text fits CodePipeline's 1000 characters with the change summary's share."""

from __future__ import annotations

from safe_sagemaker.pipeline.change_summary import APPROVAL_LIMIT, DEFAULT_LIMIT
from safe_sagemaker.pipeline.pipeline_stack import _listing, approval_text
from tests.pipeline.conftest import PipelineSynth


def test_a_listing_that_fits_is_whole() -> None:
    assert _listing(["a -> x", "b -> y"], 100) == "a -> x, b -> y"


def test_a_long_listing_counts_what_it_leaves_out() -> None:
    endpoints = [f"model-{n:02d} -> prod-model-{n:02d}-0123abcd" for n in range(50)]
    text = _listing(endpoints, 200)
    assert len(text) <= 200
    shown = text.split(" and ")[0].split(", ")
    assert text.endswith(f" and {50 - len(shown)} more")
    assert shown == endpoints[: len(shown)]


def test_fifty_registry_models_leave_the_summary_its_share() -> None:
    """Each model of a registry group adds its version; the list used to grow unchecked and
    passed CodePipeline's 1000 characters at about 11 such models with long names."""
    names = [f"m{n:02d}-".ljust(49, "x") for n in range(50)]
    summary = "#{ChangeSummary.CHANGE_SUMMARY}"
    text = approval_text(
        "Deploy ProdStack to 111111111111/ap-southeast-2.",
        [f"{name} -> prod-{name}-0123abcd" for name in names],
        [f"{name} 9999 (pinned in prod.json)" for name in names],
        summary,
    )
    assert len(text) - len(summary) <= APPROVAL_LIMIT - DEFAULT_LIMIT
    assert text.startswith("Deploy ProdStack to 111111111111/ap-southeast-2. Serves m00-")
    assert " more. Changes: " + summary + " Model Registry versions: m00-" in text
    assert text.endswith(" more.")


def test_the_example_approval_leaves_the_summary_its_share(pipeline_synth: PipelineSynth) -> None:
    (pipeline,) = pipeline_synth.resources("AWS::CodePipeline::Pipeline").values()
    texts = [
        action["Configuration"]["CustomData"]
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    assert texts
    for text in texts:
        summary = text[text.index("#{") : text.index("}") + 1]  # filled in at run time
        assert len(text) - len(summary) <= APPROVAL_LIMIT - DEFAULT_LIMIT
