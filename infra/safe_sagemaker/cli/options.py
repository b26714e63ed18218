"""Options that several subcommands take, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from safe_sagemaker.cli.pricing import DEFAULT_PRICES

F = TypeVar("F", bound=Callable[..., Any])


def _all(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


env = click.option(
    "--env", "env_name", required=True, help="Environment (infra/environments/ENV.json)."
)
json_output = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
prices = click.option(
    "--prices",
    "prices_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=DEFAULT_PRICES,
    show_default="infra/safe_sagemaker/cli/prices.json",
    help="The dated price table.",
)


def body(default: str) -> Callable[[F], F]:
    """``--data`` (a body or ``@FILE``) and ``--content-type``."""
    return _all(
        click.option("--data", default=default, show_default=True, help="Body, or @FILE."),
        click.option("--content-type", default="application/json", show_default=True),
    )


# How to reach the model's API route: the stack's output, or a URL; signed, or with a key.
api_target = _all(
    click.option("--url", help="Call this URL instead of the stack's InvokeUrl output."),
    click.option("--api-key", envvar="SAFE_SAGEMAKER_API_KEY", help="Send x-api-key, do not sign."),
)


def number(flag: str, kind: click.ParamType, default: float, help: str | None = None) -> Any:
    """A bounded number with its default shown in the help."""
    return click.option(flag, type=kind, default=default, show_default=True, help=help)
