"""The load test's PNG: p50/p99 latency and error rate against the offered rate.

matplotlib costs about 173 MB and 7 s to install (measured for the README), too much for a
tool most runs use without a plot, so it is the optional extra ``plot``; without it the test
says how to get the PNG and carries on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from safe_sagemaker.cli.load_steps import Step

INSTALL_HINT = "pip install 'safe-sagemaker-endpoints[plot]' (matplotlib)"


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def save_plot(steps: Sequence[Step], slo_p99_ms: float, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (optional extra, imported only when plotting)

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt  # noqa: PLC0415

    ordered = sorted(steps, key=lambda s: s.rps_offered)
    rates = [s.rps_offered for s in ordered]
    figure, latency = plt.subplots(figsize=(8, 4.5))
    latency.plot(rates, [s.p50_ms for s in ordered], marker="o", label="p50 ms")
    latency.plot(rates, [s.p99_ms for s in ordered], marker="o", label="p99 ms")
    latency.axhline(slo_p99_ms, linestyle="--", color="grey", label=f"SLO p99 {slo_p99_ms:g} ms")
    latency.set_xlabel("offered requests/s")
    latency.set_ylabel("latency (ms)")
    errors = latency.twinx()
    shares = [s.error_rate * 100 for s in ordered]
    errors.bar(rates, shares, width=1, alpha=0.3, color="red")
    errors.set_ylim(0, max(5.0, *shares) * 1.1)  # an error-free run still shows a 0-5% scale
    errors.set_ylabel("errors (%)")
    latency.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
