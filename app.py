#!/usr/bin/env python3
"""CDK entry point: one stack per environment file in infra/environments/."""

from __future__ import annotations

import sys

from aws_cdk import App

from infra.config import ConfigError, load_environments
from infra.nag import add_nag_checks
from infra.serving_stack import ModelServingStack


def build_app(app: App | None = None) -> App:
    """Validate every environment first, then build one stack each; nothing is built on error."""
    environments = load_environments()
    app = app or App()
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
