"""Where output goes: results to stdout (a Rich table, or JSON with ``--json``), progress and
live views to stderr, so ``--json`` output can be piped while a person still sees progress."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


def print_json(value: Any) -> None:
    # Plain print, not Rich: machines want exactly the JSON, no markup or wrapping.
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*("-" if cell is None else str(cell) for cell in row))
    return result


@contextmanager
def progress(description: str, total: float | None) -> Iterator[Progress]:
    """A progress bar on stderr; ``progress.update(task, advance=...)`` with task 0."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    with bar:
        bar.add_task(description, total=total)
        yield bar
