"""Rollout figures from the simulator: every scenario's outcome and detection time, false
rollbacks, and the source articles' alarms side by side. Prints the README's table.

    .venv/bin/python tests/benchmarks/bench_rollouts.py

Times are SIMULATED seconds (the world's clock), under the assumptions stated in
``tests/simulator/world.py`` and the README; the wall time of the whole set is printed last.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from tests.conftest import Synthesized  # noqa: E402
from tests.simulator import scenarios as sim  # noqa: E402
from tests.support.frontend import FAKE_AWS_ENV, patched_environ  # noqa: E402


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _who(result: sim.Result) -> str:
    reason = result.reason
    if "is in ALARM" in reason:
        return (
            "alarm " + reason.split("alarm ", 1)[1].split(" is in ALARM")[0].split("-rollback-")[-1]
        )
    if reason.startswith(("BeforeAllowTraffic", "AfterAllowTraffic")):
        return reason.split(" hook")[0] + " hook"
    return reason


def main() -> None:
    template = Synthesized(Path(tempfile.mkdtemp())).templates["ProdStack"]
    started = time.perf_counter()
    rows, false_rollbacks, healthy = [], 0, 0
    with patched_environ(FAKE_AWS_ENV):
        for scenario in sim.scenarios():
            result = sim.run(scenario, template)
            if scenario.healthy:
                healthy += 1
                false_rollbacks += result.outcome != "rolled out"
            extra = ""
            for follow_up in ("reverse", "retry"):
                if follow_up in result.extra:
                    extra = f"; then {follow_up}: {result.extra[follow_up]['status']}"
            rows.append(
                f"| {scenario.name} | {scenario.expect} | {result.outcome}{extra} | "
                f"{_who(result) if result.outcome == 'rolled back' else '-'} | "
                f"{_seconds(result.detection_seconds)} | {result.max_green_share:.0%} |"
            )
        anchors = []
        for anchor, label in (
            ("pipeline", "source pipeline: Lambda Errors > 0, 2 x 60 s"),
            ("terraform", "Terraform article: endpoint 5xx > 5 a minute, 2 x 60 s"),
        ):
            for rate in (1.0, 100.0):
                result = sim.run_anchor(anchor, rate, template)
                anchors.append(
                    f"| {label} | {rate:g} req/s | {_who(result)} | "
                    f"{_seconds(result.detection_seconds)} | {result.max_green_share:.0%} |"
                )
    ours = {
        rate: sim.run(sim.by_name(f"green failing 100% at {rate}"), template)
        for rate in ("1 req/s", "100 req/s")
    }
    wall = time.perf_counter() - started
    print("| scenario | expected | outcome | stopped by | detection | most traffic on green |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print()
    print("| rollback alarms | API traffic | stopped by | detection | most traffic on green |")
    print("| --- | --- | --- | --- | --- |")
    for rate, result in ours.items():
        print(
            f"| this project: green 5xx and failure ratios | {rate} | {_who(result)} | "
            f"{_seconds(result.detection_seconds)} | {result.max_green_share:.0%} |"
        )
    print("\n".join(anchors))
    print()
    print(f"false rollbacks: {false_rollbacks} of {healthy} healthy scenarios")
    print(f"wall time: {wall:.1f} s for {len(rows) + len(anchors) + 2} simulated rollouts")


if __name__ == "__main__":
    main()
