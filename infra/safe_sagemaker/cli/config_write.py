"""``loadtest --write ENV MODEL``: the recommendation into an environment file, validated by the
project's own loader before the file is replaced, so a written file always synthesizes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from safe_sagemaker.cli.errors import EXIT_FAILED, CliError
from safe_sagemaker.config import ConfigError, load_environment


def with_recommendation(
    raw: dict[str, Any], model_name: str, max_rps: float, safety_factor: float
) -> dict[str, Any]:
    """``raw`` with the model's autoscaling target given as a load-tested rate."""
    models = raw.get("models", [])
    model = next((m for m in models if m.get("name") == model_name), None)
    if model is None:
        known = ", ".join(str(m.get("name")) for m in models)
        raise CliError(f"unknown model {model_name!r} (known: {known})", EXIT_FAILED)
    scaling = model.get("autoscaling")
    if scaling is None:
        raise CliError(
            f"model {model_name!r} has no autoscaling block: add one with min_capacity and "
            "max_capacity first (a target needs a fleet that can scale)",
            EXIT_FAILED,
        )
    scaling = {k: v for k, v in scaling.items() if k != "target_invocations_per_instance"}
    scaling.update(max_requests_per_second=max_rps, safety_factor=safety_factor)
    updated = [{**m, "autoscaling": scaling} if m is model else m for m in models]
    return {**raw, "models": updated}


def write_recommendation(path: Path, model_name: str, max_rps: float, safety_factor: float) -> None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}", EXIT_FAILED) from None
    text = json.dumps(with_recommendation(raw, model_name, max_rps, safety_factor), indent=2)
    # Validate under the same file name (the name is the environment's) before replacing it.
    with tempfile.TemporaryDirectory() as folder:
        candidate = Path(folder) / path.name
        candidate.write_text(text + "\n")
        try:
            load_environment(candidate)
        except ConfigError as error:
            raise CliError(
                f"not written, the result would be invalid: {error}", EXIT_FAILED
            ) from None
    path.write_text(text + "\n")
