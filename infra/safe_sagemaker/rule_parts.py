"""EventBridge rules whose pattern names a list (endpoints, model package groups), split so
that each pattern stays within EventBridge's default quota of 2,048 characters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_PATTERN_CHARACTERS = 2_048


@dataclass(frozen=True)
class RulePart:
    """One rule's share: its construct id (``Rule``, the id a single rule always had, then
    ``Rule2``, ...), its items, and what its description adds (`` (2 of 3)``, or nothing for a
    single rule)."""

    construct_id: str
    items: list[str]
    description_suffix: str


def rule_parts(items: Sequence[str], per_rule: int) -> list[RulePart]:
    """``items`` in parts of at most ``per_rule``, in order."""
    chunks = [list(items[start : start + per_rule]) for start in range(0, len(items), per_rule)]
    return [
        RulePart(
            "Rule" if number == 1 else f"Rule{number}",
            chunk,
            "" if len(chunks) == 1 else f" ({number} of {len(chunks)})",
        )
        for number, chunk in enumerate(chunks, start=1)
    ]
