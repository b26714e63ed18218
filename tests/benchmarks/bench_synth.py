"""Synth wall time and jsii round trips of one environment with 1, 10 and 50 models
(``make bench-synth``).

Each environment is the prod example with its models repeated under new names, each model in a
nested stack of its own (``nested_model_stacks``, the layout that holds 50), dashboard included;
built and synthesized in this process exactly as ``app.py`` does (cdk-nag included) into a fresh
output folder. jsii's start-up (about 4 s) is paid once, by a warm-up synth that is not counted.
Prints the best of ``--repeat`` runs per size, the largest template's resources and size, and
the marginal cost of a model (least-squares slope). Targets: at most 0.15 s per extra model and
at most 60 s for 50 models.

Wall times vary with the machine's load; the jsii kernel round trips (every request Python sends
to the node process, callbacks' completions included) do not, so they are counted per run and
per model as a figure that a busy machine cannot blur. ``--digest`` prints a SHA-256 of every
template of each size, to show that a change to the build leaves the templates identical.

    .venv/bin/python tests/benchmarks/bench_synth.py [--sizes 1 10 50] [--repeat 3] [--inline]
        [--digest]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_DEPRECATED", "quiet")

from safe_sagemaker.config import EnvironmentConfig
from tests.support.environments import grown_environment

TARGET_SECONDS_PER_MODEL = 0.15
TARGET_SECONDS_FOR_50 = 60.0


class RoundTrips:
    """Counts the requests this process sends to jsii's node process while ``counting``."""

    def __init__(self) -> None:
        from jsii._kernel.providers.process import _NodeProcess

        self.count = 0
        # Every kernel request (create, get, invoke, a callback's completion) goes through
        # send, which writes it to the node process and waits for the answer: one call, one
        # round trip. A private name of jsii's: the benchmark's, never the library's.
        send = _NodeProcess.send

        def counted_send(process: Any, request: Any, response_type: Any) -> Any:
            self.count += 1
            return send(process, request, response_type)

        _NodeProcess.send = counted_send  # type: ignore[method-assign,assignment]

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Yields a one-item list that holds the round trips of the block when it ends."""
        start = self.count
        counted = [0]
        try:
            yield counted
        finally:
            counted[0] = self.count - start


ROUND_TRIPS = RoundTrips()


@dataclass(frozen=True)
class Run:
    build: float
    synth: float
    build_trips: int
    synth_trips: int
    resources: int
    size_bytes: int
    digest: str


def synth_run(config: EnvironmentConfig) -> Run:
    """Build and synthesize one environment into a fresh cdk.out, as ``app.py`` does it: the
    seconds and jsii round trips of each phase, the most resources and bytes of any of its
    templates and a digest of all of them."""
    from aws_cdk import App

    from safe_sagemaker.nag import add_nag_checks
    from safe_sagemaker.serving_stack import ModelServingStack
    from tests.conftest import cli_context

    with tempfile.TemporaryDirectory() as outdir:
        start = time.perf_counter()
        with ROUND_TRIPS.counting() as build_trips:
            app = App(outdir=outdir, context=cli_context())
            ModelServingStack(app, config.stack_name, config=config)
            add_nag_checks(app)
        built = time.perf_counter()
        with ROUND_TRIPS.counting() as synth_trips:
            assembly = app.synth()
        done = time.perf_counter()
        templates = sorted(Path(assembly.directory).glob("*.template.json"))
        resources = max(len(json.loads(t.read_text())["Resources"]) for t in templates)
        size = max(t.stat().st_size for t in templates)
        digest = hashlib.sha256()
        for template in templates:
            digest.update(template.name.encode() + b"\0" + template.read_bytes())
    return Run(
        build=built - start,
        synth=done - built,
        build_trips=build_trips[0],
        synth_trips=synth_trips[0],
        resources=resources,
        size_bytes=size,
        digest=digest.hexdigest(),
    )


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
    parser.add_argument(
        "--digest", action="store_true", help="print a SHA-256 of each size's templates"
    )
    args = parser.parse_args()

    synth_run(grown_environment(1, nested=not args.inline))  # warm-up: jsii, module loading
    rows: list[tuple[int, Run]] = []
    for size in args.sizes:
        config = grown_environment(size, nested=not args.inline)
        runs = [synth_run(config) for _ in range(args.repeat)]
        rows.append((size, min(runs, key=lambda run: run.build + run.synth)))

    print(
        f"{'models':>6} {'build s':>8} {'synth s':>8} {'total s':>8} {'build trips':>12} "
        f"{'synth trips':>12} {'max resources':>14} {'max template KB':>16}"
    )
    for size, run in rows:
        print(
            f"{size:>6} {run.build:>8.2f} {run.synth:>8.2f} {run.build + run.synth:>8.2f} "
            f"{run.build_trips:>12} {run.synth_trips:>12} {run.resources:>14} "
            f"{run.size_bytes / 1024:>16.0f}"
        )
    if len(rows) > 1:
        per_model = slope([(size, run.build + run.synth) for size, run in rows])
        trips = slope([(size, run.build_trips + run.synth_trips) for size, run in rows])
        verdict = "within" if per_model <= TARGET_SECONDS_PER_MODEL else "OVER"
        print(
            f"marginal cost: {per_model:.3f} s and {trips:.0f} jsii round trips per model "
            f"({verdict} the {TARGET_SECONDS_PER_MODEL} s target); best of {args.repeat}, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    for size, run in rows:
        if size == 50:
            total = run.build + run.synth
            verdict = "within" if total <= TARGET_SECONDS_FOR_50 else "OVER"
            print(f"50 models: {total:.1f} s ({verdict} the {TARGET_SECONDS_FOR_50:.0f} s target)")
    if args.digest:
        for size, run in rows:
            print(f"templates of {size} models: sha256 {run.digest}")


if __name__ == "__main__":
    main()
