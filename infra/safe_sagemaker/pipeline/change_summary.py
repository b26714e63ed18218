"""What deploying a stage will change, in a few lines for the manual approval: a summary of
``cdk diff`` of the stage's stacks against what is deployed.

Runs in CodeBuild before the approval (``cdk diff ... | PYTHONPATH=infra python -m
safe_sagemaker.pipeline.change_summary``; standard library only, so the step needs no install)
and prints one line, which the step exports as ``CHANGE_SUMMARY`` for the approval's text.
This is the seam for the command-line tools' release preview: once ``preview --json`` exists,
the step runs it instead of ``cdk diff`` and ``summarize_preview`` reads its JSON (not built).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass

# "[+] AWS::SageMaker::Endpoint fraud-detector/Endpoint/Resource frauddetectorEndpoint1A2B3C"
_RESOURCE = re.compile(r"^\[(?P<op>[+~-])\] (?P<type>(?:AWS|Custom)::\S+) (?P<path>\S+)")
_OPS = {"+": "add", "~": "modify", "-": "remove"}
# Room left for the rest of the approval's text (CodePipeline allows 1000 characters).
DEFAULT_LIMIT = 600


@dataclass(frozen=True)
class Change:
    op: str
    resource_type: str
    path: str
    replaced: bool


def parse(diff_text: str) -> list[Change]:
    changes = []
    for line in diff_text.splitlines():
        match = _RESOURCE.match(line.strip())
        if match:
            changes.append(
                Change(
                    op=_OPS[match["op"]],
                    resource_type=match["type"],
                    path=match["path"],
                    replaced="replace" in line,
                )
            )
    return changes


def summarize(diff_text: str, limit: int = DEFAULT_LIMIT) -> str:
    """``3 to add, 1 to modify (1 replaced), 2 to remove; IAM changes. + SageMaker::Endpoint
    fraud-detector/Endpoint, ...``, cut to ``limit`` characters."""
    changes = parse(diff_text)
    if not changes:
        if "no differences" in diff_text.lower():
            return "no changes"
        return "cdk diff listed no resource changes; read the step's log"
    counts = Counter(change.op for change in changes)
    head = ", ".join(f"{counts[op]} to {op}" for op in _OPS.values() if counts[op])
    replaced = sum(change.replaced for change in changes)
    if replaced:
        head += f" ({replaced} replaced)"
    if "IAM Statement Changes" in diff_text:
        head += "; IAM changes"
    marks = {"add": "+", "modify": "~", "remove": "-"}
    items = ", ".join(
        f"{marks[c.op]} {c.resource_type.removeprefix('AWS::')} {c.path}" for c in changes
    )
    text = f"{head}. {items}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main() -> int:
    print(summarize(sys.stdin.read()).replace("\n", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
