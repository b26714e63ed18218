"""A second pipeline: CodeCommit source, Prod pinned to another account, no model registry.
One extra synth for the whole module."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import ENVIRONMENTS_DIR
from safe_sagemaker.pipeline.config import EXAMPLE_FILE
from tests.conftest import cli_app

PROD_ACCOUNT = "222222222222"
# The fixture's cdk.out, for the stage templates.
CROSS_ACCOUNT_OUT: list[Path] = []


@pytest.fixture(scope="module")
def cross_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from app import build_app

    root = tmp_path_factory.mktemp("cross-account")
    environments = root / "environments"
    environments.mkdir()
    shutil.copy(ENVIRONMENTS_DIR / "dev.json", environments)
    prod = json.loads((ENVIRONMENTS_DIR / "prod.json").read_text())
    (environments / "prod.json").write_text(
        json.dumps({**prod, "account": PROD_ACCOUNT, "region": "us-east-1"})
    )
    config = json.loads(EXAMPLE_FILE.read_text())
    config["source"] = {"codecommit": {"repository_name": "ml-serving", "branch": "release"}}
    del config["model_registry"]
    # Prod, in another account, is smoke-tested from the pipeline's account too.
    config["stages"][1]["smoke_tests"] = config["stages"][0]["smoke_tests"]
    pipeline_file = root / "pipeline.json"
    pipeline_file.write_text(json.dumps(config))
    outdir = root / "cdk.out"
    CROSS_ACCOUNT_OUT[:] = [outdir]
    app = build_app(
        cli_app(outdir, pipeline_config=str(pipeline_file)), environments_dir=environments
    )
    app.synth()
    yield json.loads((outdir / "PipelineStack.template.json").read_text())


def _stage_api(stage: str) -> dict[str, Any]:
    (path,) = CROSS_ACCOUNT_OUT[0].glob(f"assembly-PipelineStack-{stage}/*.template.json")
    (api,) = _of_type(json.loads(path.read_text()), "AWS::ApiGateway::RestApi")
    return api


def _of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def _actions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (pipeline,) = _of_type(template, "AWS::CodePipeline::Pipeline")
    return {
        f"{stage['Name']}/{action['Name']}": action
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
    }


def test_codecommit_source(cross_account: dict[str, Any]) -> None:
    (source,) = [a for name, a in _actions(cross_account).items() if name.startswith("Source/")]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["RepositoryName"] == "ml-serving"
    assert source["Configuration"]["BranchName"] == "release"


def test_prod_deploys_with_the_prod_accounts_bootstrap_roles(cross_account: dict[str, Any]) -> None:
    deploy = _actions(cross_account)["Prod/ProdStack.Deploy"]
    role = f"cdk-hnb659fds-deploy-role-{PROD_ACCOUNT}-us-east-1"
    assert f":iam::{PROD_ACCOUNT}:role/{role}" in json.dumps(deploy["RoleArn"])
    execution_role = f"cdk-hnb659fds-cfn-exec-role-{PROD_ACCOUNT}-us-east-1"
    prepare = _actions(cross_account)["Prod/ProdStack.Prepare"]
    assert execution_role in json.dumps(prepare["Configuration"]["RoleArn"])
    text = json.dumps(cross_account)
    assert f"cdk-hnb659fds-lookup-role-{PROD_ACCOUNT}-us-east-1" in text  # change summary


def test_the_artifacts_key_lets_the_prod_account_decrypt(cross_account: dict[str, Any]) -> None:
    keys = _of_type(cross_account, "AWS::KMS::Key")
    policies = json.dumps([key["Properties"]["KeyPolicy"] for key in keys])
    assert f":iam::{PROD_ACCOUNT}:role/cdk-hnb659fds-deploy-role-{PROD_ACCOUNT}-us-east-1" in (
        policies
    )


def test_no_registry_no_rule_and_no_lookup(cross_account: dict[str, Any]) -> None:
    rules = _of_type(cross_account, "AWS::Events::Rule")
    assert [r["Properties"]["EventPattern"]["source"] for r in rules] == [["aws.codecommit"]]
    assert "sagemaker:ListModelPackages" not in json.dumps(cross_account)


def test_the_api_of_a_stage_in_another_account_trusts_the_pipelines_smoke_test(
    cross_account: dict[str, Any],
) -> None:
    policy = _stage_api("Prod")["Properties"]["Policy"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert ":iam::123456789012:root" in json.dumps(statement["Principal"])
    # Dev, in the pipeline's own account, needs no resource policy: the role's grant is enough.
    assert "Policy" not in _stage_api("Dev")["Properties"]
