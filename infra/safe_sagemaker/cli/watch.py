"""``safe-sagemaker watch``: a live view of one model's rollout, until it succeeds or rolls back."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Group
from rich.live import Live

from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import (
    Context,
    api_caller,
    find_model,
    model_invoke_url,
    model_resources,
)
from safe_sagemaker.cli.errors import EXIT_FAILED, EXIT_UNAVAILABLE, aws_errors
from safe_sagemaker.cli.invoke import read_data
from safe_sagemaker.cli.rollout_reader import RequestStream, RolloutReader, follow
from safe_sagemaker.cli.rollout_state import (
    ROLLED_BACK,
    SUCCEEDED,
    Snapshot,
    Tally,
    rollout_target,
    summary_line,
)

EXAMPLES = """
\b
Examples:
  safe-sagemaker watch fraud-detector --env prod
  safe-sagemaker watch fraud-detector --env prod --rate 2 --max-requests 600
  safe-sagemaker watch churn-xgboost --env prod --no-requests --json
"""


def view(snapshot: Snapshot, tally: Tally) -> Group:
    deployment = output.table(
        "CodeDeploy",
        ["deployment", "status", "hooks", "live weights"],
        [
            [
                snapshot.deployment_id or "(none yet)",
                snapshot.status,
                ", ".join(f"{name} {status}" for name, status in snapshot.hooks) or "-",
                ", ".join(f"v{v} {w:.0%}" for v, w in sorted(snapshot.weights.items())) or "-",
            ]
        ],
    )
    alarms = output.table("Rollback alarms", ["alarm", "state"], sorted(snapshot.alarms.items()))
    rows = [
        [r["endpoint"], r["requests"], r["errors"], f"{r['error_rate']:.1%}"] for r in tally.rows()
    ]
    if not rows:
        return Group(deployment, alarms)
    traffic = output.table("Requests", ["endpoint", "requests", "errors", "error rate"], rows)
    return Group(deployment, alarms, traffic)


@click.command(epilog=EXAMPLES)
@click.argument("model")
@options.env
@click.option("--deployment-id", help="Watch this deployment (default: the group's newest).")
@options.number(
    "--rate",
    click.FloatRange(min=0.01, max=20),
    1.0,
    "Requests a second sent to the model while watching.",
)
@options.number("--max-requests", click.IntRange(min=0), 1800)
@click.option("--no-requests", is_flag=True, help="Only watch; send nothing.")
@options.body('{"instances": []}')
@options.api_target
@options.number(
    "--interval", click.FloatRange(min=0), 5, "Seconds between reads of the deployment."
)
@options.number("--timeout", click.FloatRange(min=0), 3600)
@options.json_output
@click.pass_obj
def watch(
    context: Context,
    model: str,
    env_name: str,
    deployment_id: str | None,
    rate: float,
    max_requests: int,
    no_requests: bool,
    data: str,
    content_type: str,
    url: str | None,
    api_key: str | None,
    interval: float,
    timeout: float,
    as_json: bool,
) -> None:
    """Watch MODEL's rollout: the CodeDeploy deployment (status, lifecycle hooks, weights of
    the alias live), the rollback alarms, and a bounded stream of requests showing which
    endpoint answered and the error rate per endpoint.

    Exits 0 when the rollout succeeds, 1 when it rolls back, 3 when --timeout passes first."""
    environment = context.environment(env_name)
    served = find_model(environment, model)
    with aws_errors():
        target = rollout_target(
            model_resources(context, environment, served), model, environment.stack_name
        )
        reader = RolloutReader(context, target)
        stream = None
        if not no_requests and max_requests:
            caller = api_caller(context, api_key)
            target_url = url or model_invoke_url(context, environment, served)
            stream = RequestStream(
                caller, target_url, read_data(data), content_type, rate, max_requests
            )
            stream.start()
        tally = stream.tally if stream else Tally()
        try:
            with Live(console=output.stderr, transient=True) as live:
                last = follow(
                    lambda: reader.snapshot(deployment_id, None),
                    interval=interval,
                    timeout=timeout,
                    on_snapshot=lambda snapshot: live.update(view(snapshot, tally)),
                )
        finally:
            if stream:
                stream.stop()
    report(model, last, tally, as_json)


def report(model: str, last: Snapshot, tally: Tally, as_json: bool) -> None:
    document: dict[str, Any] = {**last.as_json(), "model": model, "requests": tally.rows()}
    if as_json:
        output.print_json(document)
    else:
        output.stdout.print(view(last, tally))
        output.stdout.print(summary_line(model, last, tally), highlight=False)
    if last.outcome == ROLLED_BACK:
        raise SystemExit(EXIT_FAILED)
    if last.outcome != SUCCEEDED:
        raise SystemExit(EXIT_UNAVAILABLE)
