"""drill: the refusal, the overlay, the verdict, and a whole drill against moto's CodeDeploy with
the two ``cdk deploy`` runs replaced by a fake process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import boto3
import pytest

from safe_sagemaker.cli.drill import DRILL_VARIABLE, IMPOSSIBLE_KEY, verdict, write_overlay
from safe_sagemaker.cli.rollout_state import ROLLED_BACK, SUCCEEDED
from safe_sagemaker.config import (
    ENVIRONMENTS_CONTEXT,
    ENVIRONMENTS_DIR,
    load_environment,
    load_environments,
)
from tests.cli.conftest import Run, one_line_error
from tests.cli.rollout_world import APPLICATION, GROUP, REGION, World, build_world, stub_resources

DEV = next(e for e in load_environments() if e.name == "dev")


def test_refuses_production_before_doing_anything(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_deploy(*args: object) -> None:
        raise AssertionError("nothing may be deployed")

    monkeypatch.setattr("safe_sagemaker.cli.drill.popen", no_deploy)
    result = run("drill", "fraud-detector", "--env", "prod", "--yes")
    assert result.exit_code == 1
    assert one_line_error(result) == (
        "Error: refusing to drill 'prod': it is a production environment (production: true); "
        "drill a non-production copy of it instead"
    )


def test_the_overlay_is_a_valid_failing_version(tmp_path: Path) -> None:
    write_overlay(ENVIRONMENTS_DIR, tmp_path, DEV, "fraud-detector")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.json", "prod.json"]
    drilled = load_environment(tmp_path / "dev.json")
    model, original = drilled.models[0], DEV.models[0]
    assert DRILL_VARIABLE in model.container_environment
    assert drilled.endpoint_name(model) != DEV.endpoint_name(original)  # a new (green) endpoint
    assert [s.expect_json_keys for s in model.pre_traffic_samples] == [[IMPOSSIBLE_KEY]]
    assert (tmp_path / "prod.json").read_text() == (ENVIRONMENTS_DIR / "prod.json").read_text()


def test_verdict() -> None:
    assert verdict(ROLLED_BACK, restore_code=0).ok
    assert not verdict(ROLLED_BACK, restore_code=1).ok
    assert "NOT rolled back" in verdict(SUCCEEDED, restore_code=0).message
    assert verdict(None, restore_code=0).message.startswith("no rollback observed")


class FakeDeploy:
    """``cdk deploy`` as seen by the drill: running for ``polls`` polls, then exited."""

    def __init__(self, code: int, polls: int = 2) -> None:
        self.code = code
        self.polls = polls

    def poll(self) -> int | None:
        self.polls -= 1
        return None if self.polls >= 0 else self.code

    def wait(self) -> int:
        return self.code


class FakeCdk:
    """Records each deploy; the overlay's deploy starts a CodeDeploy deployment that ends with
    ``status`` (as the failing version's would), or none at all."""

    def __init__(self, status: str | None) -> None:
        self.status = status
        self.commands: list[list[str]] = []
        self.overlay: dict[str, Any] | None = None

    def __call__(self, command: list[str], cwd: Path, log: IO[str]) -> FakeDeploy:
        self.commands.append(command)
        context = [c for c in command if c.startswith(ENVIRONMENTS_CONTEXT)]
        if not context:
            return FakeDeploy(0, polls=0)  # the restore
        self.overlay = json.loads((Path(context[0].split("=", 1)[1]) / "dev.json").read_text())
        if self.status is not None:
            codedeploy = boto3.client("codedeploy", region_name=REGION)
            deployment = codedeploy.create_deployment(
                applicationName=APPLICATION, deploymentGroupName=GROUP,
                revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
            )["deploymentId"]  # fmt: skip
            World(deployment, []).set_status(self.status)
        return FakeDeploy(1)  # the stack update fails and rolls back


@pytest.fixture
def world(moto: None) -> World:
    return build_world()  # its InProgress deployment predates the drill: never the one watched


@pytest.fixture
def drill(
    run: Run, world: World, cloudformation: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[[FakeCdk], Any]:
    """``drill(cdk)``: the command against the moto world, deploying through ``cdk``."""

    def drill_with(cdk: FakeCdk) -> Any:
        stub_resources(cloudformation)
        monkeypatch.setattr("safe_sagemaker.cli.drill.popen", cdk)
        return run("drill", "fraud-detector", "--env", "dev", "--yes", "--interval", 0, "--json")

    return drill_with


def test_a_drill_that_sees_the_rollback_exits_0(
    drill: Callable[[FakeCdk], Any], world: World
) -> None:
    cdk = FakeCdk("Stopped")
    result = drill(cdk)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["ok"], document["outcome"]) == (True, ROLLED_BACK)
    assert document["deployment_id"] != world.deployment_id
    overlay, restore = cdk.commands
    assert overlay[:5] == ["npx", "--no-install", "cdk", "deploy", "DevStack"]
    assert overlay[-2] == "--context" and overlay[-1].startswith(f"{ENVIRONMENTS_CONTEXT}=")
    assert restore == [
        "npx",
        "--no-install",
        "cdk",
        "deploy",
        "DevStack",
        "--require-approval",
        "never",
    ]
    assert cdk.overlay is not None
    assert DRILL_VARIABLE in cdk.overlay["models"][0]["container_environment"]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("Succeeded", "the failing version was NOT rolled back"),
        (None, "no rollback observed"),
    ],
)
def test_a_drill_without_a_rollback_exits_1(
    drill: Callable[[FakeCdk], Any], status: str | None, message: str
) -> None:
    cdk = FakeCdk(status)
    result = drill(cdk)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["message"].startswith(message)
    assert len(cdk.commands) == 2  # restored either way


def test_app_builds_the_overlay_folder_given_as_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the drill's ``cdk deploy --context`` relies on (stacks not built: no synth cost)."""
    from aws_cdk import App

    import app

    write_overlay(ENVIRONMENTS_DIR, tmp_path, DEV, "fraud-detector")
    built: dict[str, Any] = {}
    monkeypatch.setattr(
        app, "ModelServingStack", lambda _, name, config: built.update({name: config})
    )
    monkeypatch.setattr(app, "add_nag_checks", lambda _: None)
    app.build_app(App(context={ENVIRONMENTS_CONTEXT: str(tmp_path)}))
    assert DRILL_VARIABLE in built["DevStack"].models[0].container_environment
    assert built["ProdStack"] == next(e for e in load_environments() if e.name == "prod")


def test_refuses_an_endpoint_guardrails_model(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_deploy(*args: object) -> None:
        raise AssertionError("nothing may be deployed")

    monkeypatch.setattr("safe_sagemaker.cli.drill.popen", no_deploy)
    raw = json.loads((ENVIRONMENTS_DIR / "dev.json").read_text())
    raw["deployment_strategy"] = "endpoint-guardrails"
    raw["models"] = [m for m in raw["models"] if "serverless" not in m]
    raw["models"][0].update(instance_type="ml.m5.large", initial_instance_count=2)
    (tmp_path / "dev.json").write_text(json.dumps(raw))
    result = run("--environments", tmp_path, "drill", "fraud-detector", "--env", "dev", "--yes")
    assert result.exit_code == 1
    assert one_line_error(result).startswith(
        "Error: refusing to drill 'fraud-detector': it rolls out with endpoint-guardrails"
    )
