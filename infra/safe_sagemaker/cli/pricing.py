"""The dated price table (``prices.json`` beside this file, or ``--prices FILE``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safe_sagemaker.cli.errors import EXIT_FAILED, CliError

DEFAULT_PRICES = Path(__file__).with_name("prices.json")


class Prices:
    def __init__(self, table: dict[str, Any], source: Path) -> None:
        self.table = table
        self.source = source
        self.as_of: str = table["as_of"]
        self.region: str = table["region"]
        self.hours_per_month: float = table["hours_per_month"]

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def per_hour(self, kind: str, instance_type: str) -> float:
        """``kind``: ``hosting`` or ``processing``."""
        prices: dict[str, float] = self.table[f"sagemaker_{kind}_per_hour"]
        if instance_type not in prices:
            raise CliError(
                f"no SageMaker {kind} price for {instance_type} in {self.source} "
                f"(as of {self.as_of}): add it from the AWS pricing page",
                EXIT_FAILED,
            )
        return prices[instance_type]


def load_prices(path: Path = DEFAULT_PRICES) -> Prices:
    try:
        return Prices(json.loads(path.read_text()), path)
    except (OSError, json.JSONDecodeError, KeyError) as error:
        raise CliError(f"cannot read the price table {path}: {error}", EXIT_FAILED) from None
