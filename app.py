#!/usr/bin/env python3
"""CDK entry point: one stack per environment file in infra/environments/, and the delivery
pipeline (PipelineStack) when infra/environments/pipeline/pipeline.json exists."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_cdk import Annotations, App

from safe_sagemaker.config import ENVIRONMENTS_CONTEXT, ConfigError, load_environments
from safe_sagemaker.nag import add_nag_checks
from safe_sagemaker.pipeline.approved_packages import (
    PACKAGES_CONTEXT,
    deliver_approved_packages,
    parse_packages_context,
    pinned_versions_warning,
)
from safe_sagemaker.pipeline.config import PIPELINE_FILE, PipelineConfig, load_pipeline_config
from safe_sagemaker.pipeline.pipeline_stack import PipelineStack
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


def approved_packages(value: object, pipeline: PipelineConfig | None) -> dict[str, str]:
    """The versions the ``approved_model_packages`` context names (see approved_packages.py).
    A pipeline without a model registry has no synth step that sets it: a set context there is
    a mistake rather than something to apply silently."""
    packages = parse_packages_context(value)
    if packages and pipeline is not None and pipeline.model_registry is None:
        raise ConfigError(
            f"context {PACKAGES_CONTEXT} is set but the pipeline config has no model_registry; "
            "add one or drop the context"
        )
    return packages


def build_app(app: App | None = None, *, environments_dir: Path | None = None) -> App:
    """Validate every environment (and the pipeline config and the approved model packages)
    first, then build one stack each; nothing is built on error. The environments come from
    ``environments_dir``, else from the folder the ``safe-sagemaker:environments`` context
    names (the rollback drill's overlay), else from infra/environments."""
    app = app or App()
    folder = environments_dir or app.node.try_get_context(ENVIRONMENTS_CONTEXT)
    environments = load_environments(Path(folder)) if folder else load_environments()
    pipeline_file = choose_pipeline_file(app.node.try_get_context(PIPELINE_CONTEXT))
    pipeline_config = (
        load_pipeline_config(pipeline_file, environments) if pipeline_file is not None else None
    )
    context = app.node.try_get_context(PACKAGES_CONTEXT)
    approved = approved_packages(context, pipeline_config)
    registry = pipeline_config.model_registry if pipeline_config is not None else None
    # The top-level stacks and the pipeline's stages deploy the same versions (same stack
    # names): `cdk deploy ProdStack` with the pipeline's context deploys what its Prod stage does.
    environments = deliver_approved_packages(
        environments, approved, groups=registry.model_package_groups if registry else None
    )
    for environment in environments:
        stack = ModelServingStack(app, environment.stack_name, config=environment)
        # Only a synth without the context (a local one; the pipeline's always sets it) can
        # disagree with the pipeline: say so where `cdk synth` and `cdk deploy` print it.
        warning = (
            pinned_versions_warning(environment, registry.model_package_groups)
            if registry is not None and context is None
            else None
        )
        if warning is not None:
            Annotations.of(stack).add_warning_v2("safe-sagemaker:pinnedModelPackages", warning)
    if pipeline_config is not None:
        PipelineStack(
            app,
            "PipelineStack",
            config=pipeline_config,
            environments={env.name: env for env in environments},
            approved_packages=approved,
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
