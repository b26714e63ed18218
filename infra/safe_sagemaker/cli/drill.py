"""``safe-sagemaker drill``: prove that a bad model version rolls itself back, on a non-production
environment. It deploys a deliberately failing version through an overlay of the environment
files, watches CodeDeploy roll it back, then deploys the real configuration again."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import click

from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import Context, find_model, model_resources, project_root
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError, aws_errors
from safe_sagemaker.cli.rollout_reader import RolloutReader, follow
from safe_sagemaker.cli.rollout_state import ROLLED_BACK, SUCCEEDED, Snapshot, rollout_target
from safe_sagemaker.config import (
    ENVIRONMENTS_CONTEXT,
    ConfigError,
    EnvironmentConfig,
    ModelConfig,
    load_environment,
)

EXAMPLES = """
\b
Examples:
  safe-sagemaker drill fraud-detector --env dev
  safe-sagemaker drill fraud-detector --env staging --yes --json
"""
# A new value gives the failing version a fingerprint of its own (so a new endpoint, a new
# front-end version and a CodeDeploy deployment); a container that reads it answers errors.
DRILL_VARIABLE = "SAFE_SAGEMAKER_DRILL_FAIL"
# And whatever the container does, the pre-traffic hook fails: no model answers this key.
IMPOSSIBLE_KEY = "safe-sagemaker-drill-no-such-key"


class Process(Protocol):
    def poll(self) -> int | None: ...

    def wait(self) -> int: ...


Runner = Callable[[list[str], Path, IO[str]], Process]


def popen(command: list[str], cwd: Path, log: IO[str]) -> Process:
    return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)


def refuse_production(environment: EnvironmentConfig) -> None:
    if environment.production:
        raise CliError(
            f"refusing to drill {environment.name!r}: it is a production environment "
            "(production: true); drill a non-production copy of it instead",
            EXIT_FAILED,
        )


def refuse_endpoint_native(environment: EnvironmentConfig, model: ModelConfig) -> None:
    """The drill fails a CodeDeploy shift; SageMaker's own in-place update has none."""
    if environment.endpoint_native(model):
        raise CliError(
            f"refusing to drill {model.name!r}: it rolls out with endpoint-guardrails "
            "(SageMaker's own in-place update, no CodeDeploy shift for the drill to fail and "
            "watch); drill a frontend-alias model",
            EXIT_FAILED,
        )


def failing_model(model: ModelConfig, stamp: str) -> dict[str, Any]:
    """``model`` as a raw config entry whose new version cannot pass the pre-traffic hook."""
    raw = model.model_dump(mode="json", exclude_defaults=False)
    raw["container_environment"] = {**model.container_environment, DRILL_VARIABLE: stamp}
    sample = model.pre_traffic_samples[0].model_dump(mode="json")
    sample["expect_json_keys"] = [IMPOSSIBLE_KEY]
    raw["deployment"] = {**raw["deployment"], "sample_requests": [sample]}
    return raw


def write_overlay(source: Path, folder: Path, environment: EnvironmentConfig, model: str) -> Path:
    """Every environment file of ``source`` in ``folder``, the drilled one with the failing
    model; validated by the project's loader before anything is deployed."""
    for path in source.glob("*.json"):
        shutil.copy(path, folder / path.name)
    path = folder / f"{environment.name}.json"
    raw = json.loads(path.read_text())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    failing = failing_model(find_model(environment, model), stamp)
    raw["models"] = [failing if m.get("name") == model else m for m in raw["models"]]
    path.write_text(json.dumps(raw, indent=2) + "\n")
    try:
        load_environment(path)
    except ConfigError as error:
        raise CliError(f"the drill overlay is not a valid config: {error}", EXIT_FAILED) from None
    return folder


def deploy_command(stack: str, overlay: Path | None) -> list[str]:
    command = ["npx", "--no-install", "cdk", "deploy", stack, "--require-approval", "never"]
    if overlay is not None:
        command += ["--context", f"{ENVIRONMENTS_CONTEXT}={overlay}"]
    return command


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def verdict(outcome: str | None, restore_code: int) -> Verdict:
    """Passed only when the failing version was seen rolling back and the restore worked."""
    if outcome == SUCCEEDED:
        message = "the failing version was NOT rolled back: the rollout succeeded"
        return Verdict(False, message + " (the environment was redeployed with its real config)")
    if outcome != ROLLED_BACK:
        return Verdict(False, "no rollback observed: no deployment of the failing version ended")
    if restore_code != 0:
        return Verdict(False, "rollback observed, but restoring the environment failed")
    return Verdict(True, "rollback observed and the environment restored")


def run_drill(
    context: Context,
    environment: EnvironmentConfig,
    model: str,
    *,
    runner: Runner,
    log: IO[str],
    interval: float,
    timeout: float,
    on_snapshot: Callable[[Snapshot], None],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Verdict, Snapshot]:
    refuse_production(environment)
    stack, root = environment.stack_name, project_root()
    with aws_errors():
        resources = model_resources(context, environment, find_model(environment, model))
        target = rollout_target(resources, model, stack)
    reader = RolloutReader(context, target)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="drill-") as folder:
        overlay = write_overlay(context.environments_dir, Path(folder), environment, model)
        deploy = runner(deploy_command(stack, overlay), root, log)
        with aws_errors():
            last = follow(
                lambda: reader.snapshot(None, started),
                interval=interval,
                timeout=timeout,
                on_snapshot=on_snapshot,
                give_up=lambda: deploy.poll() is not None,
                sleep=sleep,
            )
        deploy.wait()  # CloudFormation's own rollback of the stack update ends here
    restore = runner(deploy_command(stack, None), root, log).wait()
    return verdict(last.outcome, restore), last


@click.command(epilog=EXAMPLES)
@click.argument("model")
@click.option("--env", "env_name", required=True, help="A non-production environment.")
@options.number("--interval", click.FloatRange(min=0), 10)
@options.number("--timeout", click.FloatRange(min=0), 5400)
@click.option("--yes", is_flag=True, help="Do not ask before deploying.")
@options.json_output
@click.pass_obj
def drill(
    context: Context,
    model: str,
    env_name: str,
    interval: float,
    timeout: float,
    yes: bool,
    as_json: bool,
) -> None:
    """Rollback drill: deploy a failing version of MODEL to a non-production environment
    (an overlay of the environment files: a new container variable SAFE_SAGEMAKER_DRILL_FAIL
    and a pre-traffic sample no model can answer), watch CodeDeploy roll it back, then
    deploy the real configuration again. Refuses production environments.

    Exits 0 only when the rollback was observed and the environment restored."""
    environment = context.environment(env_name)
    refuse_endpoint_native(environment, find_model(environment, model))
    refuse_production(environment)
    if not yes:
        click.confirm(
            f"Deploy a failing {model} to {environment.stack_name}, then restore it?", abort=True
        )
    with tempfile.NamedTemporaryFile("w", prefix="drill-", suffix=".log", delete=False) as log:
        output.note(f"cdk output: {log.name}")
        with output.stderr.status(f"drill {model} on {environment.stack_name}") as status:
            result, last = run_drill(
                context,
                environment,
                model,
                runner=popen,
                log=log,
                interval=interval,
                timeout=timeout,
                on_snapshot=lambda s: status.update(
                    f"deployment {s.deployment_id or '-'}: {s.status or 'waiting'}"
                ),
            )
    if as_json:
        output.print_json({"ok": result.ok, "message": result.message, **last.as_json()})
    else:
        output.stdout.print(f"{model} on {environment.name}: {result.message}", highlight=False)
    if not result.ok:
        raise SystemExit(EXIT_FAILED)
