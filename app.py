#!/usr/bin/env python3
"""CDK entry point: one stack per environment file in infra/environments/, and the delivery
pipeline (PipelineStack) when infra/environments/pipeline/pipeline.json exists."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import App

from infra.config import ENVIRONMENTS_DIR, ConfigError, load_environments
from infra.nag import add_nag_checks
from infra.pipeline.config import PIPELINE_FILE, load_pipeline_config, parse_packages_context
from infra.pipeline.pipeline_stack import PACKAGES_CONTEXT, PipelineStack
from infra.serving_stack import ModelServingStack

# `cdk synth -c pipeline_config=<path>` picks another pipeline file (e.g. the example).
PIPELINE_CONTEXT = "pipeline_config"


def build_app(app: App | None = None, *, environments_dir: Path = ENVIRONMENTS_DIR) -> App:
    """Validate every environment (and the pipeline config) first, then build one stack each;
    nothing is built on error."""
    environments = load_environments(environments_dir)
    app = app or App()
    pipeline_file = Path(app.node.try_get_context(PIPELINE_CONTEXT) or PIPELINE_FILE)
    pipeline = None
    if pipeline_file.exists():
        pipeline_config = load_pipeline_config(pipeline_file, environments)
        packages = parse_packages_context(
            app.node.try_get_context(PACKAGES_CONTEXT) or "", pipeline_config.model_registry
        )
        pipeline = (pipeline_config, packages)
    elif app.node.try_get_context(PIPELINE_CONTEXT):
        raise ConfigError(f"context {PIPELINE_CONTEXT}: no file {pipeline_file}")
    for environment in environments:
        ModelServingStack(app, environment.stack_name, config=environment)
    if pipeline is not None:
        config, packages = pipeline
        PipelineStack(
            app,
            "PipelineStack",
            config=config,
            environments={env.name: env for env in environments},
            approved_packages=packages,
        )
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
