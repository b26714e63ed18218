"""A list split across several constructs of one kind because one would hold too much of it:
EventBridge rules whose pattern names endpoints or model package groups (EventBridge's default
quota: 2,048 characters a pattern), pipeline steps that read stack outputs (CodePipeline: 1,000
characters an action's configuration value)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Part(Generic[T]):
    """One construct's share: its id (``base_id``, the id a single one always had, then
    ``<base_id>2``, ...), its items, and what its description adds (`` (2 of 3)``, or nothing
    when there is one)."""

    construct_id: str
    items: list[T]
    description_suffix: str


def split_into_parts(items: Sequence[T], per_part: int, base_id: str) -> list[Part[T]]:
    """``items`` in parts of at most ``per_part``, in order."""
    chunks = [list(items[start : start + per_part]) for start in range(0, len(items), per_part)]
    return [
        Part(
            base_id if number == 1 else f"{base_id}{number}",
            chunk,
            "" if len(chunks) == 1 else f" ({number} of {len(chunks)})",
        )
        for number, chunk in enumerate(chunks, start=1)
    ]
