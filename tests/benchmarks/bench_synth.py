"""Synth wall time of one environment with 1, 5 and 20 models (``make bench-synth``).

Each environment is the prod config with its models repeated under new names (and without the
dashboard, whose alarm widget holds too few alarms for 20 models), built and
synthesized in this process exactly as ``app.py`` does (cdk-nag included) into a fresh output
folder. jsii's start-up (about 4 s) is paid once, by a warm-up synth that is not counted. Prints
the best of ``--repeat`` runs per size and the marginal cost of a model (least-squares slope).
Target: at most 0.15 s per extra model.

    .venv/bin/python tests/benchmarks/bench_synth.py [--sizes 1 5 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_DEPRECATED", "quiet")

from safe_sagemaker.config import EnvironmentConfig, load_environments

TARGET_SECONDS_PER_MODEL = 0.15


def environment_with(models: int) -> EnvironmentConfig:
    prod = next(env for env in load_environments() if env.name == "prod")
    raw = prod.model_dump(mode="json")
    templates = raw["models"]
    raw["models"] = [
        {
            **templates[i % len(templates)],
            "name": f"m{i:02d}-{templates[i % len(templates)]['name']}",
        }
        for i in range(models)
    ]
    # The dashboard's alarm-status widget holds at most 100 alarms (about 10 models' worth);
    # left out at every size so the sizes stay comparable.
    raw["dashboard"] = {"enabled": False}
    return EnvironmentConfig.model_validate(raw)


CLOUDFORMATION_RESOURCE_LIMIT = 500


def synth_seconds(config: EnvironmentConfig) -> tuple[float, float, int]:
    """(build, synth) seconds of one stack into a fresh cdk.out, as ``app.py`` does it, and the
    template's resource count. CDK's own check of CloudFormation's 500-resource limit is off so
    that larger sizes can be timed; the table flags them."""
    from aws_cdk import Acknowledgment, App, Validations

    from safe_sagemaker.nag import add_nag_checks
    from safe_sagemaker.serving_stack import ModelServingStack
    from tests.conftest import cli_context

    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        app = App(outdir=outdir, context=cli_context(**{"@aws-cdk/core:stackResourceLimit": 0}))
        stack = ModelServingStack(app, config.stack_name, config=config)
        # Past ~10 models a stack exceeds CloudFormation's 500 resources; keep timing them (with
        # every other check running) and let the table flag the size.
        Validations.of(stack).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::F0007",
                reason="benchmark only: timing stacks larger than CloudFormation accepts",
            )
        )
        add_nag_checks(app)
        built = time.perf_counter()
        assembly = app.synth()
        done = time.perf_counter()
        resources = len(assembly.get_stack_by_name(config.stack_name).template["Resources"])
    return built - start, done - built, resources


def slope(points: list[tuple[int, float]]) -> float:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return numerator / sum((x - mean_x) ** 2 for x, _ in points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    synth_seconds(environment_with(1))  # warm-up: jsii start-up and module loading
    rows = []
    for size in args.sizes:
        config = environment_with(size)
        runs = [synth_seconds(config) for _ in range(args.repeat)]
        build, synth, resources = min(runs, key=lambda run: run[0] + run[1])
        rows.append((size, build, synth, resources))

    print(f"{'models':>6} {'build s':>8} {'synth s':>8} {'total s':>8} {'resources':>10}")
    for size, build, synth, resources in rows:
        over = "  over CloudFormation's limit" if resources > CLOUDFORMATION_RESOURCE_LIMIT else ""
        print(f"{size:>6} {build:>8.2f} {synth:>8.2f} {build + synth:>8.2f} {resources:>10}{over}")
    if len(rows) > 1:
        per_model = slope([(size, build + synth) for size, build, synth, _ in rows])
        verdict = "within" if per_model <= TARGET_SECONDS_PER_MODEL else "OVER"
        print(
            f"marginal cost: {per_model:.3f} s per model ({verdict} the "
            f"{TARGET_SECONDS_PER_MODEL} s target); best of {args.repeat}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
