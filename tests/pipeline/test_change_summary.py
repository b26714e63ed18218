"""The one-line summary of `cdk diff` the manual approval shows."""

from __future__ import annotations

import io

import pytest

from safe_sagemaker.pipeline import change_summary
from safe_sagemaker.pipeline.change_summary import summarize

DIFF = """\
Stack ProdStack
IAM Statement Changes
┌───┬──────────┬────────┐
│   │ Resource │ Effect │
└───┴──────────┴────────┘
Resources
[+] AWS::SageMaker::Model fraud-detector/Endpoint/Model frauddetectorEndpointModel1A2B3C4D
[+] AWS::SageMaker::Endpoint fraud-detector/Endpoint/Resource frauddetectorEndpoint5E6F7A8B
[~] AWS::Lambda::Function fraud-detector/Frontend/Function frauddetectorFrontendFn9C0D1E2F
 └─ [~] Environment
[~] AWS::Lambda::Alias fraud-detector/Frontend/Live frauddetectorLive3A4B5C6D replace
[-] AWS::SageMaker::EndpointConfig fraud-detector/Endpoint/Config frauddetectorConf7E8F destroy

Outputs
[~] Output EndpointNamefrauddetector: {"Value":"prod-fraud-detector-e8dd6af7"}
"""


def test_counts_and_lists_the_resource_changes() -> None:
    assert summarize(DIFF) == (
        "2 to add, 2 to modify, 1 to remove (1 replaced); IAM changes. "
        "+ SageMaker::Model fraud-detector/Endpoint/Model, "
        "+ SageMaker::Endpoint fraud-detector/Endpoint/Resource, "
        "~ Lambda::Function fraud-detector/Frontend/Function, "
        "~ Lambda::Alias fraud-detector/Frontend/Live, "
        "- SageMaker::EndpointConfig fraud-detector/Endpoint/Config"
    )


def test_no_differences() -> None:
    assert summarize("Stack ProdStack\nThere were no differences\n") == "no changes"
    assert summarize("Unable to resolve AWS account").startswith("cdk diff listed no resource")


def test_cut_to_the_limit() -> None:
    text = summarize(DIFF, limit=60)
    assert len(text) == 60
    assert text.endswith("...")


def test_main_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DIFF))
    assert change_summary.main() == 0
    assert capsys.readouterr().out.count("\n") == 1
