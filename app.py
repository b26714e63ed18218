#!/usr/bin/env python3
"""CDK entry point: one stack per environment file in infra/environments/."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App

from infra.config import ENVIRONMENTS_CONTEXT, ConfigError, load_environments
from infra.nag import add_nag_checks
from infra.serving_stack import ModelServingStack


def build_app(app: App | None = None) -> App:
    """Validate every environment first, then build one stack each; nothing is built on error."""
    app = app or App()
    folder = app.node.try_get_context(ENVIRONMENTS_CONTEXT)
    environments = load_environments(Path(folder)) if folder else load_environments()
    for environment in environments:
        ModelServingStack(app, environment.stack_name, config=environment)
    add_nag_checks(app)
    return app


def main() -> None:
    try:
        app = build_app()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()
