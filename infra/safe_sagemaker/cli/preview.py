"""``safe-sagemaker preview``: what the next ``cdk deploy`` of an environment does, per model."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import Context, missing_stack_message, project_root, stack_missing
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError, aws_errors
from safe_sagemaker.cli.pricing import load_prices
from safe_sagemaker.cli.release_plan import Change, ModelPlan, ReleasePlan, release_plan

EXAMPLES = """
\b
Examples:
  safe-sagemaker preview --env prod                  # deployed template vs a fresh cdk synth
  safe-sagemaker preview --env prod --from old-cdk.out --to cdk.out
  safe-sagemaker preview --env prod --json > plan.json   # for the pipeline's approval step
"""


def template_from_dir(folder: Path, stack: str) -> dict[str, Any]:
    path = folder / f"{stack}.template.json"
    try:
        template: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}", EXIT_FAILED) from None
    return template


def deployed_template(context: Context, stack: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError  # noqa: PLC0415 (only on this path)

    with aws_errors():
        try:
            body = context.client("cloudformation").get_template(
                StackName=stack, TemplateStage="Original"
            )["TemplateBody"]
        except ClientError as error:
            if stack_missing(error):
                raise CliError(missing_stack_message(context, stack)) from None
            raise
    # boto3 hands back JSON templates already parsed; CDK deploys JSON.
    return body if isinstance(body, dict) else json.loads(body)


def fresh_synth(stack: str, folder: Path) -> dict[str, Any]:
    """``cdk synth`` of the one stack, with the project's cdk.json (its flags and gates)."""
    command = ["npx", "--no-install", "cdk", "synth", stack, "--quiet", "--output", str(folder)]
    with output.stderr.status(f"cdk synth {stack}"):
        done = subprocess.run(
            command, cwd=project_root(), capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CliError(f"cdk synth {stack} failed: {last}", EXIT_FAILED)
    return template_from_dir(folder, stack)


def overlap_cost(model: ModelPlan, prices_path: Path) -> float | None:
    """Green's extra instances for the rollout's duration; None when a price is unknown."""
    prices = load_prices(prices_path)
    table = prices["sagemaker_hosting_per_hour"]
    if not (model.overlap_instances and model.instance_type in table and model.rollout_minutes):
        return None
    hourly = table[model.instance_type] * model.overlap_instances
    return round(hourly * model.rollout_minutes / 60, 2)


def _summary(changes: list[Change]) -> str:
    actions = ("replace", "update", "add", "remove")
    counts = {action: sum(c.action == action for c in changes) for action in actions}
    return ", ".join(f"{n} {action}" for action, n in counts.items() if n) or "no change"


def render(result: ReleasePlan, costs: dict[str, float | None]) -> None:
    out = output.stdout
    out.print(f"[bold]{result.stack}[/bold]: {len(result.risks)} risk(s)")
    for model in result.models:
        summary = _summary(model.changes)
        if model.in_place:
            out.print(
                f"  {model.model}: UPDATED IN PLACE {model.green} (SageMaker's own rollout)",
                highlight=False,
            )
        elif not model.new_endpoint:
            out.print(f"  {model.model}: no new endpoint ({summary})", highlight=False)
            continue
        else:
            out.print(
                f"  {model.model}: NEW ENDPOINT {model.green} beside {model.blue}",
                highlight=False,
            )
        for cause in model.causes:
            out.print(
                f"    because {cause.field}: {cause.before!r} -> {cause.after!r}",
                highlight=False,
                markup=False,
            )
        cost = costs.get(model.model)
        out.print(
            f"    rollout {model.strategy}, about {model.rollout_minutes:g} min with two fleets: "
            f"+{model.overlap_instances} x {model.instance_type}"
            + (f", about ${cost:.2f}" if cost is not None else ""),
            highlight=False,
        )
        out.print(f"    resources: {summary}", highlight=False)
    if result.shared:
        out.print(f"  shared: {_summary(result.shared)}", highlight=False)
    for risk in result.risks:
        out.print(f"  [red]RISK[/red] {risk.path} ({risk.type}): {risk.reason}", highlight=False)


@click.command(epilog=EXAMPLES)
@options.env
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A cdk.out holding the deployed template (default: CloudFormation GetTemplate).",
)
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A cdk.out holding the new template (default: a fresh cdk synth).",
)
@options.prices
@options.json_output
@click.pass_obj
def preview(
    context: Context,
    env_name: str,
    from_dir: Path | None,
    to_dir: Path | None,
    prices_path: Path,
    as_json: bool,
) -> None:
    """Preview a release: per model, whether a new endpoint is created and which fields cause
    it, the rollout strategy and its expected duration, what is replaced, updated, added or
    removed (by AWS's resource schemas), and the capacity and cost overlap of the shift.

    Exits 1 when a resource that serves traffic would be replaced or updated in place (a
    risk), 0 otherwise."""
    stack = context.environment(env_name).stack_name
    deployed = template_from_dir(from_dir, stack) if from_dir else deployed_template(context, stack)
    if to_dir is not None:
        synthesized = template_from_dir(to_dir, stack)
    else:
        with tempfile.TemporaryDirectory(prefix="preview-") as folder:
            synthesized = fresh_synth(stack, Path(folder))
    create_minutes = load_prices(prices_path)["endpoint_create_minutes"]
    result = release_plan(deployed, synthesized, stack, create_minutes)
    costs = {
        m.model: overlap_cost(m, prices_path) for m in result.models if m.new_endpoint or m.in_place
    }
    if as_json:
        document = result.as_json()
        for model in document["models"]:
            model["overlap_cost"] = costs.get(model["model"])
        output.print_json(document)
    else:
        render(result, costs)
    if result.risks:
        raise SystemExit(EXIT_FAILED)
