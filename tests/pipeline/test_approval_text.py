"""The approval's text fits CodePipeline's 1000 characters with the change summary's share."""

from __future__ import annotations

from safe_sagemaker.pipeline.change_summary import APPROVAL_LIMIT, DEFAULT_LIMIT
from safe_sagemaker.pipeline.pipeline_stack import _listing
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
