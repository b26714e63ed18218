"""What deploying a stage will change, in one line for the manual approval: a summary of the
command-line tools' release preview (``safe-sagemaker preview --json``) of the stage's stack
against what is deployed.

Runs in CodeBuild before the approval (``python -m safe_sagemaker.pipeline.change_summary
preview.json preview.err``) and prints one line, which the step exports as ``CHANGE_SUMMARY``
for the approval's text: the risks first, then per model whether a new (green) endpoint comes
and why, with its rollout, then the shared changes. When the preview could not run (the stack is
not deployed yet, the lookup role is missing), the line says why instead. Needs only the
standard library, not the tools themselves.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# What CodePipeline allows a manual approval's text.
APPROVAL_LIMIT = 1000
# The summary's share of it; the stack, target and endpoints take the rest.
DEFAULT_LIMIT = 600
# Long values (ARNs, S3 URIs) keep their ends, where versions and keys differ.
VALUE_LIMIT = 40
_ACTIONS = ("replace", "update", "add", "remove")


def _counts(changes: Sequence[Mapping[str, Any]]) -> str:
    counts = Counter(change["action"] for change in changes)
    return ", ".join(f"{counts[action]} {action}" for action in _ACTIONS if counts[action])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if text.startswith("arn:"):
        # The resource part: model-package/churn-scorer/4
        text = text.split(":", 5)[-1]
    return text if len(text) <= VALUE_LIMIT else "..." + text[-(VALUE_LIMIT - 3) :]


def _model(model: Mapping[str, Any]) -> str:
    name = model["model"]
    if model.get("moved"):
        # The preview's risk for it says why and what to do.
        return f"{name}: MOVES between stacks ({_counts(model['changes'])})"
    if model.get("added"):
        return f"{name}: NEW MODEL, endpoint {model['green']} ({_counts(model['changes'])})"
    if model.get("removed"):
        return f"{name}: REMOVED, endpoint {model['blue']} ({_counts(model['changes'])})"
    if not model["new_endpoint"]:
        return f"{name}: no new endpoint ({_counts(model['changes']) or 'no change'})"
    text = f"{name}: NEW ENDPOINT {model['green']}"
    if model.get("blue"):
        text += f" beside {model['blue']}"
    causes = "; ".join(
        f"{cause['field']} {_short(cause['before'])} -> {_short(cause['after'])}"
        for cause in model.get("causes", [])
    )
    if causes:
        text += f" because {causes}"
    if model.get("strategy"):
        text += f"; {model['strategy']}, about {model['rollout_minutes']:g} min"
    if model.get("overlap_instances"):
        text += f", +{model['overlap_instances']} x {model['instance_type']}"
        if model.get("overlap_cost") is not None:
            text += f" (about ${model['overlap_cost']:.2f})"
    return text


def summarize_preview(document: Mapping[str, Any], limit: int = DEFAULT_LIMIT) -> str:
    """``0 risk(s). churn-scorer: NEW ENDPOINT prod-churn-scorer-1a2b3c4d beside ... because
    Model.Containers[0].ModelPackageName model-package/churn-scorer/3 ->
    model-package/churn-scorer/4; AllAtOnce, about 13 min.
    fraud-detector: no new endpoint (no change). shared: 1 update.``, cut to ``limit``."""
    risks = document.get("risks", [])
    parts = [f"{len(risks)} risk(s)"]
    parts += [f"RISK {r['path']} ({r['type']}): {r['reason']}" for r in risks]
    parts += [_model(model) for model in document.get("models", [])]
    shared = _counts(document.get("shared", []))
    if shared:
        parts.append(f"shared: {shared}")
    text = ". ".join(parts) + "."
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summarize_failure(stderr: str) -> str:
    """The preview's own last word on why it could not run."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else "no output"
    return f"no release preview ({reason}); read the ChangeSummary step's log"[:DEFAULT_LIMIT]


def summarize_files(preview: Path, stderr: Path) -> str:
    """The summary of ``preview`` (the JSON the preview printed), or of why it printed none."""
    try:
        document = json.loads(preview.read_text())
    except (OSError, ValueError):
        document = None
    if isinstance(document, dict) and "models" in document:
        return summarize_preview(document)
    return summarize_failure(stderr.read_text() if stderr.is_file() else "")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(
            "usage: python -m safe_sagemaker.pipeline.change_summary PREVIEW_JSON STDERR",
            file=sys.stderr,
        )
        return 2
    print(summarize_files(Path(args[0]), Path(args[1])).replace("\n", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
