"""``safe-sagemaker cost``: an environment's monthly steady-state cost from its config and the
dated price table, and the extra cost of one rollout per strategy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import click

from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import Context
from safe_sagemaker.cli.pricing import Prices, load_prices
from safe_sagemaker.cli.rollout import RolloutTime, every_strategy
from safe_sagemaker.config import EnvironmentConfig, GuardrailsSettings, ModelConfig

EXAMPLES = """
\b
Examples:
  safe-sagemaker cost --env prod
  safe-sagemaker cost --env prod --requests-per-second 10 --json
  safe-sagemaker cost --env dev --prices my-region-prices.json
"""
SECONDS_PER_HOUR = 3600


class Line(NamedTuple):
    """One line of the monthly estimate, in the price table's currency."""

    item: str
    detail: str
    monthly: float


@dataclass(frozen=True)
class Rollout:
    model: str
    strategy: str
    configured: bool
    minutes: float
    extra_instances: int
    extra_cost: float


@dataclass
class Estimate:
    environment: str
    as_of: str
    region: str
    lines: list[Line] = field(default_factory=list)
    rollouts: list[Rollout] = field(default_factory=list)

    @property
    def monthly_total(self) -> float:
        return round(sum(line.monthly for line in self.lines), 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "as_of": self.as_of,
            "region": self.region,
            "lines": [line._asdict() for line in self.lines],
            "rollouts": [asdict(rollout) for rollout in self.rollouts],
            "monthly_total": self.monthly_total,
        }


def fleet_floor(model: ModelConfig) -> int:
    """Instances a model runs at least: the autoscaling floor, else its fixed count."""
    return model.autoscaling.min_capacity if model.autoscaling else model.initial_instance_count


def model_lines(model: ModelConfig, prices: Prices, rps: float) -> list[Line]:
    hours = prices.hours_per_month
    lines = []
    if model.serverless is not None:
        gb = model.serverless.memory_size_mb / 1024
        # Billed per use: with no traffic assumption (rps 0) it costs nothing at rest.
        seconds = rps * SECONDS_PER_HOUR * hours * 0.1
        lines.append(
            Line(
                f"{model.name} serverless",
                f"{gb:g} GB, {rps:g} req/s of 100 ms",
                seconds * gb * prices["serverless_per_gb_second"],
            )
        )
    else:
        count = fleet_floor(model)
        price = prices.per_hour("hosting", model.instance_type)
        lines.append(
            Line(
                f"{model.name} endpoint",
                f"{count} x {model.instance_type} at minimum capacity",
                count * price * hours,
            )
        )
    if model.monitoring is not None:
        billed_hours = prices["model_monitor_billed_minutes_per_hour"] / 60 * hours
        lines.append(
            Line(
                f"{model.name} Model Monitor",
                f"{model.monitoring.instance_type}, "
                f"{prices['model_monitor_billed_minutes_per_hour']} billed min/h",
                prices.per_hour("processing", model.monitoring.instance_type) * billed_hours,
            )
        )
    return lines


def capture_line(env: EnvironmentConfig, prices: Prices, rps: float) -> Line | None:
    """Captured requests kept ``capture_retention_days``: the steady-state stored volume, for
    ``rps`` requests a second to each model."""
    capturing = [m for m in env.models if m.data_capture.enabled]
    if not capturing:
        return None
    captured_rps = rps * sum(m.data_capture.sampling_percentage / 100 for m in capturing)
    seconds_kept = SECONDS_PER_HOUR * 24 * env.capture_retention_days
    stored_gb = captured_rps * prices["capture_bytes_per_request"] * seconds_kept / 1e9
    return Line(
        "capture storage",
        f"{rps:g} req/s a model, {env.capture_retention_days} days kept ({stored_gb:.1f} GB)",
        stored_gb * prices["s3_standard_per_gb_month"],
    )


def shared_lines(env: EnvironmentConfig, prices: Prices) -> list[Line]:
    lines = []
    if env.canary.enabled:
        runs = prices.hours_per_month * 60 / env.canary.schedule_minutes
        lines.append(
            Line(
                "canary",
                f"{runs:.0f} runs, every {env.canary.schedule_minutes} min",
                runs * prices["canary_per_run"],
            )
        )
    if env.dashboard.enabled:
        lines.append(Line("dashboard", "1 dashboard", prices["dashboard_per_month"]))
    # Always the alerts and data keys; the capture bucket's and the canary artifacts' when on.
    keys = 2 + any(m.data_capture.enabled for m in env.models) + env.canary.enabled
    lines.append(Line("KMS keys", f"{keys} keys", keys * prices["kms_key_per_month"]))
    return lines


def rollouts(env: EnvironmentConfig, prices: Prices) -> list[Rollout]:
    """Green runs at blue's size beside it for the whole rollout: the floor here (more when blue
    has scaled out, as the pre-traffic hook matches blue's current count). An
    endpoint-guardrails model has one row, its configured update (``guardrails_rollout``)."""
    result = []
    for model in env.models:
        if model.serverless is not None:
            continue
        count = fleet_floor(model)
        price = prices.per_hour("hosting", model.instance_type)
        guardrails = env.guardrails_for(model)
        if guardrails is not None:
            result.append(
                guardrails_rollout(model, guardrails, price, prices["endpoint_create_minutes"])
            )
            continue
        times: list[RolloutTime] = every_strategy(
            model.deployment.metrics_wait_seconds, prices["endpoint_create_minutes"]
        )
        configured = env.deployment_config_for(model)
        for time in times:
            result.append(
                Rollout(
                    model=model.name,
                    strategy=time.strategy,
                    configured=time.strategy == configured,
                    minutes=round(time.total_minutes, 1),
                    extra_instances=count,
                    extra_cost=round(count * price * time.total_minutes / 60, 2),
                )
            )
    return result


def guardrails_rollout(
    model: ModelConfig, guardrails: GuardrailsSettings, price: float, create_minutes: float
) -> Rollout:
    """SageMaker's in-place update: the new fleet is provisioned (as long as a new endpoint
    takes), then every step bakes ``wait_interval_seconds`` and blue is kept for the termination
    wait. Blue/green runs a whole second fleet meanwhile; rolling only one batch more."""
    policy = guardrails.policy()
    count = fleet_floor(model)
    minutes = create_minutes + policy.baking_seconds(count) / 60
    extra = count
    if policy.mode == "rolling":
        assert policy.maximum_batch_size is not None
        extra = policy.maximum_batch_size.instances(count)
    return Rollout(
        model=model.name,
        strategy=f"endpoint-guardrails {policy.mode}",
        configured=True,
        minutes=round(minutes, 1),
        extra_instances=extra,
        extra_cost=round(extra * price * minutes / 60, 2),
    )


def estimate(env: EnvironmentConfig, prices: Prices, rps: float = 0.0) -> Estimate:
    result = Estimate(env.name, prices.as_of, prices.region)
    for model in env.models:
        result.lines += model_lines(model, prices, rps)
    capture = capture_line(env, prices, rps)
    if capture is not None:
        result.lines.append(capture)
    result.lines += shared_lines(env, prices)
    result.lines = [Line(line.item, line.detail, round(line.monthly, 2)) for line in result.lines]
    result.rollouts = rollouts(env, prices)
    return result


def render(result: Estimate) -> None:
    rows = [[line.item, line.detail, f"${line.monthly:,.2f}"] for line in result.lines]
    rows.append(["total", "per month", f"${result.monthly_total:,.2f}"])
    title = (
        f"{result.environment}: monthly estimate ({result.region} list prices as of "
        f"{result.as_of}; not a quote)"
    )
    output.heading(title)
    output.stdout.print(output.table(None, ["item", "detail", "monthly"], rows))
    rollout_rows = [
        [
            r.model,
            r.strategy + (" *" if r.configured else ""),
            f"{r.minutes:g} min",
            f"+{r.extra_instances}",
            f"${r.extra_cost:,.2f}",
        ]
        for r in result.rollouts
    ]
    if rollout_rows:
        output.heading("extra cost of one rollout (two fleets during the shift; * = configured)")
        columns = ["model", "strategy", "two fleets for", "instances", "extra"]
        output.stdout.print(output.table(None, columns, rollout_rows))


@click.command(epilog=EXAMPLES)
@options.env
@click.option(
    "--requests-per-second",
    "rps",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Traffic to assume per model, for what is billed per request (capture, serverless).",
)
@options.prices
@options.json_output
@click.pass_obj
def cost(context: Context, env_name: str, rps: float, prices_path: Path, as_json: bool) -> None:
    """Estimate the monthly steady-state cost of an environment from its config (instances or
    serverless, Model Monitor, canary, dashboard, KMS, capture storage) and what one rollout
    adds per strategy. Needs no AWS access."""
    result = estimate(context.environment(env_name), load_prices(prices_path), rps)
    if as_json:
        output.print_json(result.as_json())
    else:
        render(result)
