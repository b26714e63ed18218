"""The gates every template passes: cdk-nag (AwsSolutions on the app; Serverless and NIST 800-53
R5 on each serving stack), cfn-lint, deterministic synth."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from app import build_app
from safe_sagemaker.constructs.model_monitor import ANALYZER_ACCOUNTS
from safe_sagemaker.nag import (
    PACKS,
    acknowledge,
    add_compliance_checks,
    add_nag_checks,
    stale_acknowledgements,
)
from tests.conftest import REPO_ROOT, Synthesized, cfn_lint, cli_app

STACKS = ("DevStack", "ProdStack")


def test_app_has_the_contract_stacks(synthesized: Synthesized) -> None:
    assert set(STACKS) <= set(synthesized.templates)


def test_nag_reports_no_unacknowledged_violation(synthesized: Synthesized) -> None:
    """No open finding, warnings included, in any pack."""
    report = synthesized.validation_report()
    assert {r["pluginName"] for r in report["pluginReports"]} == set(PACKS)
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        assert plugin["violations"] == [], plugin["pluginName"]


@pytest.mark.parametrize("pack", ["Serverless", "NIST.800.53.R5"])
def test_compliance_packs_check_each_serving_stack(synthesized: Synthesized, pack: str) -> None:
    """One report per serving stack, each about that stack's resources alone."""
    report = synthesized.validation_report()
    checked = set()
    for plugin in report["pluginReports"]:
        if plugin["pluginName"] == pack:
            stacks = {
                construct["constructPath"].split("/")[0]
                for finding in plugin["suppressedViolations"]
                for construct in finding["violatingConstructs"]
            }
            assert len(stacks) == 1, stacks
            checked |= stacks
    assert checked == set(STACKS)


def test_no_acknowledgement_is_stale(synthesized: Synthesized) -> None:
    """Every acknowledgement suppresses a finding: one that matches nothing would silently
    accept a future finding of its rule (e.g. a new '*' resource) on its construct."""
    stale = stale_acknowledgements(synthesized.app, synthesized.validation_report())
    assert stale == []


def test_stale_acknowledgements_are_found() -> None:
    app = App()
    stack = Stack(app, "Careful")
    bucket = s3.Bucket(stack, "Logged", enforce_ssl=True)
    acknowledge(bucket, "AwsSolutions-S1", "the bucket is a log target; see the test's purpose")
    acknowledge(bucket, "AwsSolutions-S10", "nothing to suppress: the bucket enforces SSL")
    add_nag_checks(app)
    assembly = app.synth()
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    assert stale_acknowledgements(app, report) == [
        ("Careful/Logged", "AwsSolutions::AwsSolutions-S10")
    ]


def test_acknowledgements_name_their_pack() -> None:
    stack = Stack(App(), "Careful")
    with pytest.raises(ValueError, match=r"name the pack, e\.g\. AwsSolutions-IAM5"):
        acknowledge(stack, "IAM5", "a reason long enough to pass the length check")


def test_compliance_gate_stops_synth_on_a_violation() -> None:
    app = App()
    stack = Stack(app, "Careless")
    # Encrypted, SSL-only, logged, but not versioned: NIST.800.53.R5-S3BucketVersioningEnabled
    logs = s3.Bucket(stack, "Logs", enforce_ssl=True)
    s3.Bucket(stack, "Data", enforce_ssl=True, server_access_logs_bucket=logs)
    add_compliance_checks(stack)
    with pytest.raises(
        Exception, match=r"(?s)NIST.800.53.R5-S3BucketVersioningEnabled|Validation failed"
    ):
        app.synth()


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
    assert cfn_lint(paths) == []


CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def test_checkov_finds_nothing_unskipped(synthesized: Synthesized) -> None:
    """checkov (installed by make install, apart from the app's venv) on every serving
    template, with .checkov.yaml: each skipped check is listed there with its reason, or on the
    one resource it concerns (Metadata ``checkov.skip``)."""
    assert CHECKOV.exists(), "checkov is missing: run make install"
    paths = [str(synthesized.template_path(name)) for name in STACKS]
    result = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", "-o", "json", *(f"-f{p}" for p in paths)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        (check["check_id"], check["resource"])
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert result.returncode == 0, result.stderr
    assert sum(report["summary"]["passed"] for report in reports) > 0


def test_each_function_outside_a_vpc_skips_checkov_lambda_in_vpc_with_its_nag_reason(
    synthesized: Synthesized,
) -> None:
    """CKV_AWS_117 (Lambda in a VPC) is skipped on each function, not for the whole template:
    with the reason of the same function's NIST LambdaInsideVPC acknowledgement."""
    nist_reasons = {
        construct["constructPath"]: suppressed["reason"]
        for plugin in synthesized.validation_report()["pluginReports"]
        for suppressed in plugin["suppressedViolations"]
        if suppressed["ruleName"] == "NIST.800.53.R5-LambdaInsideVPC"
        for construct in suppressed["violatingConstructs"]
    }
    functions = 0
    for name in STACKS:
        for resource in synthesized.templates[name]["Resources"].values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            path = resource["Metadata"]["aws:cdk:path"]
            assert "VpcConfig" not in resource["Properties"], path
            (skip,) = [
                skip
                for skip in resource["Metadata"]["checkov"]["skip"]
                if skip["id"] == "CKV_AWS_117"
            ]
            assert skip["comment"] == nist_reasons[path]
    assert functions == len(nist_reasons) == 2 * 8


def test_checkov_skips_keep_each_other_and_need_a_reason() -> None:
    from safe_sagemaker.checkov import skip_checks

    stack = Stack(App(), "Skips")
    bucket = s3.Bucket(stack, "Bucket")
    skip_checks(bucket, "a first reason, long enough to review", "CKV_AWS_18")
    skip_checks(bucket.node.default_child, "a second reason, long enough too", "CKV_AWS_21")
    assert Stack.of(bucket).resolve(bucket.node.default_child.get_metadata("checkov")) == {
        "skip": [
            {"id": "CKV_AWS_18", "comment": "a first reason, long enough to review"},
            {"id": "CKV_AWS_21", "comment": "a second reason, long enough too"},
        ]
    }
    with pytest.raises(ValueError, match="skip of CKV_AWS_19 needs a real reason"):
        skip_checks(bucket, "n/a", "CKV_AWS_19")
    with pytest.raises(TypeError, match="Skips is not a CloudFormation resource"):
        skip_checks(stack, "a reason that is long enough", "CKV_AWS_19")


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
