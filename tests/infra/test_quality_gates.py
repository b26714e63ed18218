"""The gates every template passes: cdk-nag (AwsSolutions), cfn-lint, deterministic synth."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from app import build_app
from safe_sagemaker.constructs.model_monitor import ANALYZER_ACCOUNTS
from safe_sagemaker.nag import add_nag_checks
from tests.conftest import Synthesized, cli_app, run_cfn_lint

STACKS = ("DevStack", "ProdStack")


def test_app_has_the_contract_stacks(synthesized: Synthesized) -> None:
    assert set(STACKS) <= set(synthesized.templates)


def test_nag_reports_no_unacknowledged_violation(synthesized: Synthesized) -> None:
    report = synthesized.validation_report()
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []


def test_every_acknowledgement_has_a_reason(synthesized: Synthesized) -> None:
    report = synthesized.validation_report()
    for plugin in report["pluginReports"]:
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) >= 40, suppressed["ruleName"]


def test_nag_gate_stops_synth_on_a_violation() -> None:
    app = App()
    stack = Stack(app, "Careless")
    s3.Bucket(stack, "Unhardened")  # no SSL enforcement, no access logs: AwsSolutions-S1/S10
    add_nag_checks(app)
    with pytest.raises(Exception, match=r"(?s)AwsSolutions-S1|Validation failed"):
        app.synth()


def test_cfn_lint_is_clean(synthesized: Synthesized) -> None:
    """cfn-lint with the repository's .cfnlintrc; 0 errors and 0 warnings."""
    paths = [str(synthesized.template_path(name)) for name in synthesized.templates]
    result = run_cfn_lint(paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_synth_is_deterministic(
    synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outdir = tmp_path_factory.mktemp("second-synth")
    build_app(cli_app(outdir)).synth()
    for name in synthesized.templates:
        first = synthesized.template_path(name).read_bytes()
        second = (outdir / f"{name}.template.json").read_bytes()
        assert first == second, f"{name} differs between two synths"


def test_templates_hold_no_timestamps_or_account_ids(synthesized: Synthesized) -> None:
    import re

    for name, template in synthesized.templates.items():
        text = str(template)
        assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text), name
        # The only 12-digit numbers are the example ECR registries of the config and AWS's
        # Model Monitor image registries (a region mapping).
        # An account id stands alone; twelve digits inside a hex asset hash are not one.
        accounts = set(re.findall(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])", text))
        allowed = {"123456789012", "683313688378", *ANALYZER_ACCOUNTS.values()}
        assert accounts <= allowed, (name, accounts - allowed)
