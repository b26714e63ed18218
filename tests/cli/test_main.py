"""The program as a whole: one console script, every subcommand with examples in its help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run

SUBCOMMANDS = ["invoke", "watch", "preview", "loadtest", "cost", "drill"]


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_help_shows_examples(run: Run, subcommand: str) -> None:
    result = run(subcommand, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"safe-sagemaker {subcommand} " in result.stdout
    assert "--json" in result.stdout


def test_top_level_help_lists_every_subcommand(run: Run) -> None:
    result = run("--help")
    assert all(name in result.stdout for name in SUBCOMMANDS)


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("safe-sagemaker")
    assert script.exists(), "make install installs the project (pip install -e .)"
    done = subprocess.run(
        [script, "cost", "--env", "dev", "--json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '"monthly_total": 45.88' in done.stdout


def test_a_config_error_is_one_line(run: Run, tmp_path: Path) -> None:
    (tmp_path / "dev.json").write_text('{"models": []}')
    result = run("--environments", tmp_path, "cost", "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: configuration error: environment 'dev', field 'models'")
