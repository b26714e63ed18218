"""``safe-sagemaker preview``: what the next ``cdk deploy`` of an environment does, per model."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from safe_sagemaker.cfn_replacements import PATH_METADATA
from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import (
    Context,
    missing_nested_stack_message,
    missing_stack_message,
    project_root,
    stack_missing,
    stack_resources,
)
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError, aws_errors
from safe_sagemaker.cli.pricing import load_prices
from safe_sagemaker.cli.release_plan import (
    Change,
    ModelPlan,
    ReleasePlan,
    StackTemplates,
    nested_scope,
    nested_stack_resources,
    release_plan,
)

EXAMPLES = """
\b
Examples:
  safe-sagemaker preview --env prod                  # deployed template vs a fresh cdk synth
  safe-sagemaker preview --env prod --from old-cdk.out --to cdk.out
  safe-sagemaker preview --env prod --json > plan.json   # for the pipeline's approval step
"""


ASSET_PATH_METADATA = "aws:asset:path"


def read_template(path: Path, missing: str | None = None) -> dict[str, Any]:
    """``missing``: the error when the file is not there (default: the file and why)."""
    try:
        template: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise CliError(missing or f"cannot read {path}: no such file", EXIT_FAILED) from None
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}", EXIT_FAILED) from None
    return template


def nested_name(resource: dict[str, Any], logical_id: str) -> str:
    """A nested stack by its construct id (a model's name under ``nested_model_stacks``)."""
    path = resource.get("Metadata", {}).get(PATH_METADATA)
    return nested_scope(path).rsplit("/", 1)[-1] if isinstance(path, str) else logical_id


def templates_from_dir(folder: Path, stack: str) -> StackTemplates:
    """The stack's template in a cdk.out and its nested stacks' (``*.nested.template.json``,
    named by the ``aws:asset:path`` metadata CDK gives each ``AWS::CloudFormation::Stack``)."""
    template = read_template(folder / f"{stack}.template.json")
    nested = {}
    for logical_id, resource in nested_stack_resources(template).items():
        name = nested_name(resource, logical_id)
        asset = resource.get("Metadata", {}).get(ASSET_PATH_METADATA)
        if not isinstance(asset, str):
            raise CliError(
                f"{stack}.template.json in {folder} does not say where nested stack {name!r} "
                f"is (no {ASSET_PATH_METADATA} metadata): synthesize with the CDK CLI, which "
                "records it",
                EXIT_FAILED,
            )
        nested[logical_id] = read_template(
            folder / asset,
            f"nested stack {name!r} of {stack} not found: {folder / asset} is missing (copy "
            "every *.nested.template.json of the cdk.out along with the stack's template)",
        )
    return StackTemplates(template, nested)


def deployed_template(context: Context, stack: str, missing: str | None = None) -> dict[str, Any]:
    """GetTemplate of ``stack`` (a name, or a nested stack's ARN) as it was deployed;
    ``missing``: the error when it is not there (default: the top-level stack's)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 (only on this path)

    with aws_errors():
        try:
            body = context.client("cloudformation").get_template(
                StackName=stack, TemplateStage="Original"
            )["TemplateBody"]
        except ClientError as error:
            if stack_missing(error):
                raise CliError(missing or missing_stack_message(context, stack)) from None
            raise
    # boto3 hands back JSON templates already parsed; CDK deploys JSON.
    return body if isinstance(body, dict) else json.loads(body)


def deployed_templates(context: Context, stack: str) -> StackTemplates:
    """The deployed template and its nested stacks' (each by the ARN CloudFormation lists as
    the physical id of its ``AWS::CloudFormation::Stack`` resource)."""
    template = deployed_template(context, stack)
    stacks = nested_stack_resources(template)
    if not stacks:
        return StackTemplates(template)
    with aws_errors():
        arns = {
            summary["LogicalResourceId"]: summary.get("PhysicalResourceId") or None
            for summary in stack_resources(context, stack)
        }
    nested = {}
    # One GetTemplate per model in a nested environment: tens of seconds at 50 models.
    with output.progress(f"deployed templates of {stack}'s nested stacks", len(stacks)) as bar:
        for logical_id, resource in stacks.items():
            arn = arns.get(logical_id)
            missing = missing_nested_stack_message(stack, nested_name(resource, logical_id), arn)
            if arn is None:
                raise CliError(missing)
            nested[logical_id] = deployed_template(context, arn, missing)
            bar.update(advance=1)
    return StackTemplates(template, nested)


def fresh_synth(stack: str, folder: Path) -> StackTemplates:
    """``cdk synth`` of the one stack, with the project's cdk.json (its flags and gates)."""
    command = ["npx", "--no-install", "cdk", "synth", stack, "--quiet", "--output", str(folder)]
    with output.stderr.status(f"cdk synth {stack}"):
        done = subprocess.run(
            command, cwd=project_root(), capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CliError(f"cdk synth {stack} failed: {last}", EXIT_FAILED)
    return templates_from_dir(folder, stack)


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
        if model.moved is not None:
            source, target = (
                f"nested stack {stack}" if stack else result.stack for stack in model.moved
            )
            out.print(
                f"  {model.model}: MOVES from {source} into {target} ({summary}), see the risk",
                highlight=False,
            )
            continue
        if model.added:
            out.print(
                f"  {model.model}: NEW MODEL, endpoint {model.green} created ({summary}): it "
                f"serves once its route is deployed, about {model.rollout_minutes:g} min, "
                "without a canary (nothing to shift from)",
                highlight=False,
            )
            continue
        if model.removed:
            out.print(
                f"  {model.model}: REMOVED, endpoint {model.blue} deleted with its route and "
                f"functions ({summary})",
                highlight=False,
            )
            continue
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

    Exits 1 when a resource that serves traffic would be replaced or updated in place, or a
    model's resources would move between stacks (a risk), 0 otherwise. An added or removed
    model is no risk: it is what the environment file asks for."""
    stack = context.environment(env_name).stack_name
    deployed = (
        templates_from_dir(from_dir, stack) if from_dir else deployed_templates(context, stack)
    )
    if to_dir is not None:
        synthesized = templates_from_dir(to_dir, stack)
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
