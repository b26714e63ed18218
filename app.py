#!/usr/bin/env python3
"""CDK entry point: one stack per environment file in infra/environments/, and the delivery
pipeline (PipelineStack) when infra/environments/pipeline/pipeline.json exists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_cdk import App

from safe_sagemaker.config import ENVIRONMENTS_CONTEXT, ConfigError, load_environments
from safe_sagemaker.nag import add_nag_checks
from safe_sagemaker.pipeline.config import (
    PIPELINE_FILE,
    load_pipeline_config,
    parse_packages_context,
)
from safe_sagemaker.pipeline.pipeline_stack import PACKAGES_CONTEXT, PipelineStack
from safe_sagemaker.serving_stack import ModelServingStack

# `cdk synth -c pipeline_config=<path>` picks another pipeline file (e.g. the example), and
# `-c pipeline_config=none` builds no pipeline even where pipeline.json exists.
PIPELINE_CONTEXT = "pipeline_config"
NO_PIPELINE = "none"


def choose_pipeline_file(context: str | None, default: Path = PIPELINE_FILE) -> Path | None:
    """The pipeline config the app builds from: the file the context names, none for ``none``,
    else ``default`` if it exists (the pipeline is opt-in)."""
    if context == NO_PIPELINE:
        return None
    if context:
        if not Path(context).is_file():
            raise ConfigError(f"context {PIPELINE_CONTEXT}: no file {context}")
        return Path(context)
    return default if default.is_file() else None


def pinned_cli_version(package_json: Path = Path(__file__).parent / "package.json") -> str:
    """The CDK CLI version package.json pins, so the pipeline runs the CLI `make` installs."""
    return str(json.loads(package_json.read_text())["devDependencies"]["aws-cdk"])


def build_app(app: App | None = None, *, environments_dir: Path | None = None) -> App:
    """Validate every environment (and the pipeline config) first, then build one stack each;
    nothing is built on error. The environments come from ``environments_dir``, else from the
    folder the ``safe-sagemaker:environments`` context names (the rollback drill's overlay),
    else from infra/environments."""
    app = app or App()
    folder = environments_dir or app.node.try_get_context(ENVIRONMENTS_CONTEXT)
    environments = load_environments(Path(folder)) if folder else load_environments()
    pipeline_file = choose_pipeline_file(app.node.try_get_context(PIPELINE_CONTEXT))
    pipeline = None
    if pipeline_file is not None:
        pipeline_config = load_pipeline_config(pipeline_file, environments)
        packages = parse_packages_context(
            app.node.try_get_context(PACKAGES_CONTEXT) or "", pipeline_config.model_registry
        )
        pipeline = (pipeline_config, packages)
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
            cli_version=pinned_cli_version(),
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
