"""``safe-sagemaker loadtest``: the highest rate an endpoint serves within a p99 SLO, and the
autoscaling target it implies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from safe_sagemaker.cli import options, output, plot, recommender
from safe_sagemaker.cli.config_write import write_recommendation
from safe_sagemaker.cli.context import Context, find_model
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError, aws_errors
from safe_sagemaker.cli.invoke import read_data
from safe_sagemaker.cli.load_runner import StepRunner, runtime_client
from safe_sagemaker.cli.load_steps import Step, max_rps_within_slo, recommend, search

EXAMPLES = """
\b
Examples:
  safe-sagemaker loadtest --endpoint dev-fraud-detector-5912c004 --slo-p99-ms 200
  safe-sagemaker loadtest --endpoint prod-churn-xgboost-1a2b3c4d --slo-p99-ms 100 \\
      --instances 1 --max-rps 200 --step-seconds 20 --write prod churn-xgboost
  safe-sagemaker loadtest --endpoint prod-fraud-detector-e8dd6af7 --slo-p99-ms 300 \\
      --engine recommender --role-arn arn:aws:iam::123456789012:role/RecommenderRole --json
"""


def result_json(
    steps: list[Step], best: float | None, instances: int, safety_factor: float, slo: float
) -> dict[str, Any]:
    advice = recommend(best, instances, safety_factor) if best else None
    return {
        "steps": [step.as_json() for step in steps],
        "max_rps_within_slo": best,
        "recommended_max_requests_per_second": advice.max_requests_per_second if advice else None,
        "recommended_target_invocations_per_instance": (
            advice.target_invocations_per_instance if advice else None
        ),
        "safety_factor": safety_factor,
        "instances": instances,
        "slo_p99_ms": slo,
    }


def render(result: dict[str, Any]) -> None:
    rows = [
        [s["rps_offered"], s["rps_achieved"], s["p50_ms"], s["p99_ms"], f"{s['error_rate']:.2%}"]
        for s in result["steps"]
    ]
    if rows:
        columns = ["offered rps", "achieved rps", "p50 ms", "p99 ms", "errors"]
        output.stdout.print(output.table("Steps", columns, rows))
    best = result["max_rps_within_slo"]
    if best is None:
        output.stdout.print(f"no step held p99 <= {result['slo_p99_ms']:g} ms with errors < 1%")
        return
    rate = result["recommended_max_requests_per_second"]
    target = result["recommended_target_invocations_per_instance"]
    output.stdout.print(
        f"max rate within SLO: {best:g} rps on {result['instances']} instance(s)\n"
        f"recommended autoscaling: max_requests_per_second {rate:g}, safety_factor "
        f"{result['safety_factor']:g} -> target_invocations_per_instance {target}",
        highlight=False,
    )


def run_local(
    context: Context,
    endpoint: str,
    body: bytes,
    content_type: str,
    *,
    max_rps: float,
    steps: int,
    refinements: int,
    step_seconds: float,
    concurrency: int,
    slo: float,
) -> list[Step]:
    client = runtime_client(context.session, concurrency, read_timeout=max(slo / 1000 * 10, 5))
    runner = StepRunner(client, endpoint, body, content_type, step_seconds, concurrency)
    with aws_errors():
        runner.check()
    with output.progress(f"load test {endpoint}", total=steps + refinements) as bar:

        def run_step(rate: float) -> Step:
            bar.update(description=f"{rate:.1f} rps")
            step = runner(rate)
            bar.update(advance=1)
            return step

        return search(
            run_step, max_rps=max_rps, steps=steps, refinements=refinements, slo_p99_ms=slo
        )


def run_recommender(
    context: Context,
    endpoint: str,
    *,
    role_arn: str | None,
    model_package_arn: str | None,
    slo: float,
    max_rps: float,
    step_seconds: float,
    poll_seconds: float,
) -> tuple[float, dict[str, Any]]:
    if role_arn is None:
        raise CliError("--engine recommender needs --role-arn (a role SageMaker may assume)", 2)
    sagemaker = context.client("sagemaker")
    with aws_errors():
        model_name, instance_type = recommender.served_model(sagemaker, endpoint)
        spec = recommender.JobSpec(
            job_name=f"{endpoint[:40]}-{int(time.time())}",
            role_arn=role_arn,
            instance_type=instance_type,
            slo_p99_ms=round(slo),
            max_rps=max_rps,
            step_seconds=round(step_seconds),
            model_name=None if model_package_arn else model_name,
            model_package_arn=model_package_arn,
        )
        sagemaker.create_inference_recommendations_job(**spec.request())
        with output.progress(f"Inference Recommender {spec.job_name}", total=None) as bar:
            job = recommender.follow(
                sagemaker,
                spec.job_name,
                poll_seconds=poll_seconds,
                on_status=lambda status: bar.update(description=f"job {status}"),
            )
    return recommender.best_max_rps(job)


@click.command(epilog=EXAMPLES)
@click.option("--endpoint", required=True, help="SageMaker endpoint name.")
@click.option("--slo-p99-ms", "slo", type=click.FloatRange(min=1), required=True)
@options.number(
    "--instances",
    click.IntRange(min=1),
    1,
    "Instances behind the endpoint now (the rate is divided by it).",
)
@options.number("--max-rps", click.FloatRange(min=0.1), 100, "Never offer more than this.")
@options.number("--step-seconds", click.FloatRange(min=0.1), 10)
@options.number("--steps", click.IntRange(1, 50), 6, "Evenly spaced rates up to --max-rps.")
@options.number(
    "--refine",
    click.IntRange(0, 10),
    3,
    "Bisection steps between the last good and the first bad rate.",
)
@options.number("--concurrency", click.IntRange(1, 256), 32)
@click.option(
    "--safety-factor", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True
)
@options.body('{"instances": [[0.1, 2]]}')
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("loadtest.png"),
    show_default=True,
)
@click.option("--no-plot", is_flag=True)
@click.option("--write", nargs=2, metavar="ENV MODEL", help="Put the result into ENV's file.")
@click.option(
    "--engine", type=click.Choice(["local", "recommender"]), default="local", show_default=True
)
@click.option("--role-arn", help="recommender: the role the job runs as.")
@click.option("--model-package-arn", help="recommender: test this model package version.")
@options.number("--poll-seconds", click.FloatRange(min=0), 30)
@options.json_output
@click.pass_obj
def loadtest(
    context: Context,
    endpoint: str,
    slo: float,
    instances: int,
    max_rps: float,
    step_seconds: float,
    steps: int,
    refine: int,
    concurrency: int,
    safety_factor: float,
    data: str,
    content_type: str,
    plot_path: Path,
    no_plot: bool,
    write: tuple[str, str] | None,
    engine: str,
    role_arn: str | None,
    model_package_arn: str | None,
    poll_seconds: float,
    as_json: bool,
) -> None:
    """Step load against a SageMaker endpoint (through botocore, so
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME applies) to the highest rate whose p99 stays within
    --slo-p99-ms with errors under 1%; recommends autoscaling.max_requests_per_second and
    the target it gives (rate x safety factor x 60). Bounded: at most --steps + --refine
    steps of --step-seconds each, never above --max-rps. Exits 1 when no step held."""
    if write is not None:
        environment = context.environment(write[0])
        find_model(environment, write[1])
    if engine == "recommender":
        per_instance, best_config = run_recommender(
            context,
            endpoint,
            role_arn=role_arn,
            model_package_arn=model_package_arn,
            slo=slo,
            max_rps=max_rps,
            step_seconds=step_seconds,
            poll_seconds=poll_seconds,
        )
        result = result_json([], round(per_instance, 2), 1, safety_factor, slo)
        result["recommender"] = best_config
    else:
        measured = run_local(
            context,
            endpoint,
            read_data(data),
            content_type,
            max_rps=max_rps,
            steps=steps,
            refinements=refine,
            step_seconds=step_seconds,
            concurrency=concurrency,
            slo=slo,
        )
        result = result_json(
            measured, max_rps_within_slo(measured, slo), instances, safety_factor, slo
        )
        if not no_plot:
            result["plot"] = _plot(measured, slo, plot_path)
    result["engine"] = engine
    if as_json:
        output.print_json(result)
    else:
        render(result)
    if result["max_rps_within_slo"] is None:
        raise SystemExit(EXIT_FAILED)
    if write is not None:
        path = context.environments_dir / f"{write[0]}.json"
        write_recommendation(
            path, write[1], result["recommended_max_requests_per_second"], safety_factor
        )
        output.note(f"wrote {write[1]}'s autoscaling to {path}")


def _plot(steps: list[Step], slo: float, path: Path) -> str | None:
    if not plot.available():
        output.note(f"no PNG written: the plot needs {plot.INSTALL_HINT}")
        return None
    plot.save_plot(steps, slo, path)
    output.note(f"plot written to {path}")
    return str(path)
