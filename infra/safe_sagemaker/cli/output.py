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

# Piped output (no terminal) would otherwise be cut to 80 columns and truncate table cells.
_PIPED_WIDTH = 120
stdout = Console(soft_wrap=True)
if not stdout.is_terminal:
    stdout = Console(width=_PIPED_WIDTH, soft_wrap=True)
stderr = Console(stderr=True)


def note(message: str) -> None:
    """A plain line for the person on stderr: no markup (paths and extras hold brackets), no
    wrapping (it may be grepped)."""
    stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def heading(text: str) -> None:
    """A line above a table (a table's own title would wrap to the table's width)."""
    stdout.print(text, style="bold", markup=False, highlight=False, soft_wrap=True)


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


class Bar:
    """One task of a Rich progress display."""

    def __init__(self, progress: Progress, description: str, total: float | None) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=total)

    def update(self, description: str | None = None, advance: float = 0) -> None:
        self._progress.update(self._task, description=description, advance=advance)


@contextmanager
def progress(description: str, total: float | None) -> Iterator[Bar]:
    """A progress bar on stderr, gone when the block ends (the result is what stays)."""
    display = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    with display:
        yield Bar(display, description, total)
