"""The ``safe-sagemaker`` console script: one group, one module per subcommand."""

from __future__ import annotations

from pathlib import Path

import click

from safe_sagemaker.cli.context import Context
from safe_sagemaker.cli.cost import cost
from safe_sagemaker.cli.drill import drill
from safe_sagemaker.cli.invoke import invoke
from safe_sagemaker.cli.loadtest import loadtest
from safe_sagemaker.cli.preview import preview
from safe_sagemaker.cli.watch import watch
from safe_sagemaker.config import ENVIRONMENTS_DIR

EXAMPLES = """
\b
Examples:
  safe-sagemaker invoke fraud-detector --env prod --data '{"instances": [[0.1, 2]]}'
  safe-sagemaker watch fraud-detector --env prod
  safe-sagemaker preview --env prod
  safe-sagemaker loadtest --endpoint dev-fraud-detector-5912c004 --slo-p99-ms 200
  safe-sagemaker cost --env prod
  safe-sagemaker drill fraud-detector --env dev
"""


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (default: the usual chain).")
@click.option("--region", envvar="AWS_REGION", help="AWS region (default: the profile's).")
@click.option(
    "--environments",
    "environments_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=ENVIRONMENTS_DIR,
    show_default="infra/environments",
    help="Folder of environment files.",
)
@click.pass_context
def cli(
    click_context: click.Context, profile: str | None, region: str | None, environments_dir: Path
) -> None:
    """Tools for the people who run the safe SageMaker endpoints: call a model, watch a
    rollout, preview a release, load-test to an autoscaling target, estimate cost, drill a
    rollback."""
    click_context.obj = Context(profile=profile, region=region, environments_dir=environments_dir)


cli.add_command(invoke)
cli.add_command(loadtest)
cli.add_command(cost)
cli.add_command(preview)
cli.add_command(watch)
cli.add_command(drill)


def main() -> None:
    cli()
