"""Benchmark of the front-end Lambda against a local SageMaker runtime (prints figures).

Run from the repository root::

    .venv/bin/python tests/benchmarks/bench_frontend.py [--requests 3000] [--cold-runs 9]

What it measures, all against the same fake runtime (``tests.support.fake_sagemaker_runtime``,
run in its own process so its work never competes with the measured client for the GIL):

1. Per request: ``handler.handler(event, context)`` vs a bare ``invoke_endpoint`` + body read
   with an identically configured client (another one from the same factory), interleaved
   request by request (the order flips every pair) after a warm-up; p50 / p99 and their
   ratios (targets 1.05 / 1.10), pooled and as the median of consecutive blocks, plus the
   client's CPU time per request (immune to preemption by other processes).
2. Cold init, in fresh interpreters: ``import handler`` (which builds the runtime client, as in
   a Lambda init) vs ``import boto3`` + ``boto3.client("sagemaker-runtime")``; the median of
   several runs of each, alternating (target 1.2x). Whole-process wall time is shown too.
3. Peak memory of those processes after one request each: their own high-water mark (VmHWM;
   ``ru_maxrss`` on Linux also counts the forking parent's peak, see ``REPORT``).
4. The import cost of Powertools' Logger, Metrics and Tracer modules after ``import boto3``.

It is a script, not a test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.fake_sagemaker_runtime import in_child_process  # noqa: E402
from tests.support.frontend import (  # noqa: E402
    ENDPOINT_NAME,
    FAKE_AWS_ENV,
    FRONTEND_DIR,
    FUNCTION_ENV,
    FakeLambdaContext,
    rest_event,
)

BODY = b'{"features": [0.25, 1.5, 3.75, 42.0, -7.125, 0.0, 1.0, 2.0]}'
TARGET_P50, TARGET_P99, TARGET_INIT = 1.05, 1.10, 1.2


def server_counts(url: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_fake/counts", timeout=5) as answer:
        counts: dict[str, int] = json.load(answer)
    return counts


def function_env(url: str) -> dict[str, str]:
    return {**FUNCTION_ENV, **FAKE_AWS_ENV, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- 1. per request ---------------------------------------------------------------------------
def per_request(url: str, requests: int, warmup: int) -> dict[str, list[float]]:
    """Latency (wall) and client CPU time per request, in ms, of both loops, interleaved."""
    os.environ.update(function_env(url))
    sys.path.insert(0, str(FRONTEND_DIR))  # exactly what the Lambda runtime does
    import handler
    from sagemaker_frontend.runtime_client import build_client

    # The bare loop's client comes from the same factory as the handler's (same session type,
    # same Config): the only difference between the two loops is the handler itself.
    bare_client = build_client()
    event = rest_event(BODY.decode(), request_id="bench")
    context = FakeLambdaContext()
    kwargs = {
        "EndpointName": ENDPOINT_NAME,
        "Body": BODY,
        "ContentType": "application/json",
        "Accept": "application/json",
    }

    def bare() -> None:
        result = bare_client.invoke_endpoint(**kwargs)
        result["Body"].read()

    def through_handler() -> None:
        response = handler.handler(event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(response)

    timings: dict[str, list[float]] = {"bare": [], "handler": [], "bare_cpu": [], "handler_cpu": []}
    pair: list[tuple[str, Callable[[], None]]] = [("bare", bare), ("handler", through_handler)]
    for _ in range(warmup):
        bare()
        through_handler()
    gc.collect()
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for i in range(requests):
        for name, call in pair if i % 2 == 0 else pair[::-1]:
            cpu_started = cpu_clock()
            started = clock()
            call()
            elapsed = clock() - started
            timings[f"{name}_cpu"].append((cpu_clock() - cpu_started) / 1e6)
            timings[name].append(elapsed / 1e6)
    return timings


# -- 2 and 3. cold init and memory, in fresh interpreters ------------------------------------------
COLD_HANDLER = """
import time
started = time.perf_counter()
import sys
sys.path.insert(0, {frontend!r})
import handler
init = time.perf_counter() - started
event = {{"httpMethod": "POST", "headers": {{"Content-Type": "application/json"}},
         "requestContext": {{"requestId": "cold"}}, "body": {body!r}, "isBase64Encoded": False}}
class Context:
    aws_request_id = "cold"
response = handler.handler(event, Context())
assert response["statusCode"] == 200, response
first = time.perf_counter() - started - init
"""
COLD_BARE = """
import time
started = time.perf_counter()
import boto3
from botocore.config import Config
client = boto3.client(
    "sagemaker-runtime",
    config=Config(connect_timeout=2.0, read_timeout=8.0,
                  retries={{"mode": "standard", "total_max_attempts": 2}}),
)
init = time.perf_counter() - started
result = client.invoke_endpoint(EndpointName={endpoint!r}, Body={body!r}.encode(),
                                ContentType="application/json")
result["Body"].read()
first = time.perf_counter() - started - init
"""
# Linux keeps ru_maxrss across fork+exec (the child starts with the parent's peak, here the
# whole benchmark's), so the child's own peak is read from VmHWM, which starts afresh at exec.
REPORT = """
import json, resource
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    pass
print("COLD " + json.dumps({"init_ms": init * 1e3, "first_request_ms": first * 1e3,
                            "maxrss_kb": peak_kb}))
"""


def cold_run(script: str, url: str) -> dict[str, float]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))},
        **function_env(url),
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + REPORT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    wall = (time.perf_counter() - started) * 1e3
    [line] = [line for line in completed.stdout.splitlines() if line.startswith("COLD ")]
    figures: dict[str, float] = json.loads(line.removeprefix("COLD "))
    figures["process_ms"] = wall
    return figures


def cold_start(url: str, runs: int) -> dict[str, list[dict[str, float]]]:
    scripts = {
        "handler": COLD_HANDLER.format(frontend=str(FRONTEND_DIR), body=BODY.decode()),
        "bare": COLD_BARE.format(endpoint=ENDPOINT_NAME, body=BODY.decode()),
    }
    results: dict[str, list[dict[str, float]]] = {"handler": [], "bare": []}
    for i in range(runs):
        order = ["handler", "bare"] if i % 2 == 0 else ["bare", "handler"]
        for name in order:
            results[name].append(cold_run(scripts[name], url))
    return results


# -- 4. Powertools import cost ------------------------------------------------------------------
IMPORTS = {
    "Logger": "from aws_lambda_powertools.logging import Logger",
    "Metrics": "from aws_lambda_powertools.metrics import Metrics",
    "Tracer (module only)": "from aws_lambda_powertools.tracing import Tracer",
    "Logger+Metrics+Tracer": (
        "from aws_lambda_powertools import Logger, Metrics, Tracer; "
        "from aws_lambda_powertools.metrics import EphemeralMetrics"
    ),
}


def import_cost(statement: str, runs: int) -> float:
    code = (
        "import time, boto3\n"
        "started = time.perf_counter()\n"
        f"{statement}\n"
        "print((time.perf_counter() - started) * 1e3)\n"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def importtime_breakdown(runs: int) -> dict[str, float]:
    """Cumulative ``-X importtime`` of Powertools' sub-packages (ms, median), after boto3.

    Importing any of them runs the package ``__init__``, which imports all three; this splits
    that one cost by sub-package."""
    modules = ("aws_lambda_powertools", *(f"aws_lambda_powertools.{m}" for m in PARTS))
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import boto3, aws_lambda_powertools"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in completed.stderr.splitlines():
            fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
            if len(fields) == 3 and fields[2] in samples:
                samples[fields[2]].append(int(fields[1]) / 1e3)
    return {module: statistics.median(values) for module, values in samples.items() if values}


PARTS = ("logging", "metrics", "tracing")


def xray_sdk_available() -> bool:
    completed = subprocess.run(
        [sys.executable, "-c", "import aws_xray_sdk"], capture_output=True, check=False
    )
    return completed.returncode == 0


# -- report -----------------------------------------------------------------------------------
def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per loop")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per loop")
    parser.add_argument("--cold-runs", type=int, default=9, help="fresh processes per variant")
    parser.add_argument("--blocks", type=int, default=6, help="blocks for the per-block figures")
    parser.add_argument("--import-runs", type=int, default=7)
    args = parser.parse_args()

    with in_child_process() as url:
        timings = per_request(url, args.requests, args.warmup)
        expected = 2 * (args.requests + args.warmup)
        received = server_counts(url).get(ENDPOINT_NAME, 0)
        if received != expected:
            raise RuntimeError(f"the runtime counted {received} requests, expected {expected}")
        cold = cold_start(url, args.cold_runs)

    bare, through = timings["bare"], timings["handler"]
    rows: list[tuple[str, str, str, str, str]] = []

    def row(label: str, handler_value: float, bare_value: float, unit: str, target: float) -> None:
        ratio = handler_value / bare_value
        rows.append(
            (
                label,
                f"{handler_value:.3f} {unit}",
                f"{bare_value:.3f} {unit}",
                f"{ratio:.3f}",
                f"<= {target:.2f} {verdict(ratio, target)}" if target else "",
            )
        )

    row("per request p50", percentile(through, 0.50), percentile(bare, 0.50), "ms", TARGET_P50)
    row("per request p99", percentile(through, 0.99), percentile(bare, 0.99), "ms", TARGET_P99)
    row("per request mean", statistics.fmean(through), statistics.fmean(bare), "ms", 0)
    # The same, per consecutive block of requests: the median of the blocks' figures shrugs off
    # a burst of load from other processes that hit one block.
    size = max(1, len(bare) // args.blocks)
    blocks = range(0, size * args.blocks, size)
    for q, target in ((0.50, TARGET_P50), (0.99, TARGET_P99)):
        handler_q = statistics.median(percentile(through[b : b + size], q) for b in blocks)
        bare_q = statistics.median(percentile(bare[b : b + size], q) for b in blocks)
        row(f"p{q * 100:.0f}, median of {args.blocks} blocks", handler_q, bare_q, "ms", target)
    cpu_through, cpu_bare = timings["handler_cpu"], timings["bare_cpu"]
    row("client CPU p50", percentile(cpu_through, 0.5), percentile(cpu_bare, 0.5), "ms", 0)
    row("client CPU p99", percentile(cpu_through, 0.99), percentile(cpu_bare, 0.99), "ms", 0)

    def median_of(name: str, key: str) -> float:
        return statistics.median(run[key] for run in cold[name])

    row("cold init (in process)", median_of("handler", "init_ms"), median_of("bare", "init_ms"),
        "ms", TARGET_INIT)  # fmt: skip
    row("cold process wall", median_of("handler", "process_ms"), median_of("bare", "process_ms"),
        "ms", 0)  # fmt: skip
    row("first request after init", median_of("handler", "first_request_ms"),
        median_of("bare", "first_request_ms"), "ms", 0)  # fmt: skip
    row("peak RSS (VmHWM)", median_of("handler", "maxrss_kb") / 1024,
        median_of("bare", "maxrss_kb") / 1024, "MiB", 0)  # fmt: skip

    print(
        f"\nFront end vs bare invoke_endpoint, local fake runtime, {args.requests} interleaved "
        f"requests each after {args.warmup} warm-up; cold figures: median of {args.cold_runs} "
        f"fresh processes. Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}.\n"
    )
    header = ("measure", "handler", "bare", "ratio", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))

    runs = args.import_runs
    print(f"\nPowertools import cost after `import boto3`, fresh processes, median of {runs}:")
    for label, statement in IMPORTS.items():
        print(f"  {label:36s} {import_cost(statement, args.import_runs):6.1f} ms")
    print("  -X importtime, cumulative:")
    for module, cost in importtime_breakdown(args.import_runs).items():
        print(f"    {module:34s} {cost:6.1f} ms")
    if not xray_sdk_available():
        print("  (aws_xray_sdk is not installed: a Tracer() instance cannot be measured here)")


if __name__ == "__main__":
    main()
