"""Synth wall time of one environment with 1, 10 and 50 models (``make bench-synth``).

Each environment is the prod example with its models repeated under new names, each model in a
nested stack of its own (``nested_model_stacks``, the layout that holds 50), dashboard included;
built and synthesized in this process exactly as ``app.py`` does (cdk-nag included) into a fresh
output folder. jsii's start-up (about 4 s) is paid once, by a warm-up synth that is not counted.
Prints the best of ``--repeat`` runs per size, the largest template's resources and size, and
the marginal cost of a model (least-squares slope). Targets: at most 0.15 s per extra model and
at most 60 s for 50 models.

    .venv/bin/python tests/benchmarks/bench_synth.py [--sizes 1 10 50] [--repeat 3] [--inline]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_DEPRECATED", "quiet")

from safe_sagemaker.config import EnvironmentConfig
from tests.support.environments import grown_environment

TARGET_SECONDS_PER_MODEL = 0.15
TARGET_SECONDS_FOR_50 = 60.0


def synth_seconds(config: EnvironmentConfig) -> tuple[float, float, int, int]:
    """(build, synth) seconds of one environment into a fresh cdk.out, as ``app.py`` does it,
    and the most resources and bytes of any of its templates."""
    from aws_cdk import App

    from safe_sagemaker.nag import add_nag_checks
    from safe_sagemaker.serving_stack import ModelServingStack
    from tests.conftest import cli_context

    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        app = App(outdir=outdir, context=cli_context())
        ModelServingStack(app, config.stack_name, config=config)
        add_nag_checks(app)
        built = time.perf_counter()
        assembly = app.synth()
        done = time.perf_counter()
        templates = list(Path(assembly.directory).glob("*.template.json"))
        resources = max(len(json.loads(t.read_text())["Resources"]) for t in templates)
        size = max(t.stat().st_size for t in templates)
    return built - start, done - built, resources, size


def slope(points: list[tuple[int, float]]) -> float:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return numerator / sum((x - mean_x) ** 2 for x, _ in points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--inline", action="store_true", help="models in the one stack (at most 10 models)"
    )
    args = parser.parse_args()

    synth_seconds(grown_environment(1, nested=not args.inline))  # warm-up: jsii, module loading
    rows = []
    for size in args.sizes:
        config = grown_environment(size, nested=not args.inline)
        runs = [synth_seconds(config) for _ in range(args.repeat)]
        build, synth, resources, size_bytes = min(runs, key=lambda run: run[0] + run[1])
        rows.append((size, build, synth, resources, size_bytes))

    print(
        f"{'models':>6} {'build s':>8} {'synth s':>8} {'total s':>8} "
        f"{'max resources':>14} {'max template KB':>16}"
    )
    for size, build, synth, resources, size_bytes in rows:
        print(
            f"{size:>6} {build:>8.2f} {synth:>8.2f} {build + synth:>8.2f} "
            f"{resources:>14} {size_bytes / 1024:>16.0f}"
        )
    if len(rows) > 1:
        per_model = slope([(size, build + synth) for size, build, synth, _, _ in rows])
        verdict = "within" if per_model <= TARGET_SECONDS_PER_MODEL else "OVER"
        print(
            f"marginal cost: {per_model:.3f} s per model ({verdict} the "
            f"{TARGET_SECONDS_PER_MODEL} s target); best of {args.repeat}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    for size, build, synth, _, _ in rows:
        if size == 50:
            total = build + synth
            verdict = "within" if total <= TARGET_SECONDS_FOR_50 else "OVER"
            print(f"50 models: {total:.1f} s ({verdict} the {TARGET_SECONDS_FOR_50:.0f} s target)")


if __name__ == "__main__":
    main()
