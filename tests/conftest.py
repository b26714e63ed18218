"""Shared fixtures. The CDK app is synthesized ONCE per test session (jsii start-up and synth
cost seconds); every infra test reads the same templates."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import botocore.session
import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_DEPRECATED", "quiet")

REPO_ROOT = Path(__file__).resolve().parent.parent

# Each load of a Lambda module builds its botocore session at init, as Lambda does once per
# process; tests load them hundreds of times. One data loader for all of them (as for the
# clients of one session) reads each service model from disk once per test process.
botocore.session.create_loader = functools.cache(botocore.session.create_loader)  # type: ignore[assignment]


# Folders whose test files share session-scoped synths of their own: under pytest-xdist their
# files run on one worker, so that each of those synths happens once.
_SHARED_SESSION_FOLDERS = ("pipeline",)


def _unit_of_work(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    folder = path.split("/")[1]
    return folder if folder in _SHARED_SESSION_FOLDERS else path


@pytest.hookimpl(optionalhook=True)  # without xdist (-p no:xdist) pytest has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``pytest -n auto`` (``make test``; ``--dist load``, xdist's default with ``-n``, or
    ``loadscope``): each test file is a unit of work, so its module-scoped synths (and the wheel
    build) run once, and so is each folder above. Units go out in collection order, which puts
    the slow ones first (below), so neither worker is left with a long one at the end; xdist's
    own order (most tests first) would not know which are slow."""
    if config.getvalue("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Units(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit_of_work(nodeid)

    config.option.loadscopereorder = False
    return Units(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Stable: the tests of a file stay together and in order.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def cli_context(**extra: Any) -> dict[str, Any]:
    """The context ``cdk synth`` gives the app: cdk.json's feature flags (and path metadata, as
    the CLI enables it), so the tests see the templates users deploy."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    # The serving stacks alone, also where a team's pipeline.json turns the pipeline on; the
    # pipeline's tests synthesize it from the example config.
    return {**context, "aws:cdk:enable-path-metadata": True, "pipeline_config": "none", **extra}


def cli_app(outdir: Path, **extra_context: Any) -> Any:
    from aws_cdk import App

    return App(outdir=str(outdir), context=cli_context(**extra_context))


def cfn_lint(paths: Sequence[str | Path]) -> list[str]:
    """cfn-lint's findings on ``paths``, with the repository's .cfnlintrc (empty: clean). It
    runs in this process: its rules and resource schemas load once per test process."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    config = ConfigMixIn(["--config-file", str(REPO_ROOT / ".cfnlintrc"), *map(str, paths)])
    return [str(match) for match in Runner(config).run()]


class Synthesized:
    """The synthesized app: stacks by id, templates as dicts and as assertion Templates."""

    def __init__(self, outdir: Path) -> None:
        from aws_cdk.assertions import Template

        from app import build_app

        self.app = build_app(cli_app(outdir))
        self.assembly = self.app.synth()
        self.outdir = outdir
        self.templates: dict[str, dict[str, Any]] = {}
        self.assertions: dict[str, Template] = {}
        for artifact in self.assembly.stacks:
            template = artifact.template
            self.templates[artifact.stack_name] = template
            self.assertions[artifact.stack_name] = Template.from_json(template)

    def template_path(self, stack_name: str) -> Path:
        return self.outdir / f"{stack_name}.template.json"

    def validation_report(self) -> dict[str, Any]:
        report = self.outdir / "validation-report.json"
        return json.loads(report.read_text()) if report.exists() else {}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield Synthesized(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def prod_template(synthesized: Synthesized) -> Any:
    return synthesized.assertions["ProdStack"]


@pytest.fixture(scope="session")
def dev_template(synthesized: Synthesized) -> Any:
    return synthesized.assertions["DevStack"]


@pytest.fixture(scope="session")
def retrained_prod(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, Any]]:
    """``retrained_prod(model)``: ProdStack's template with ``model``'s artifact moved (a new
    model version), synthesized once per session and model as the app builds the stack (the
    rollout and preview tests share it; cdk-nag's checks change no template, so they are left
    out)."""
    from safe_sagemaker.config import load_environments
    from safe_sagemaker.serving_stack import ModelServingStack
    from tests.support.environments import with_new_model_data

    prod = next(env for env in load_environments() if env.name == "prod")
    templates: dict[str, dict[str, Any]] = {}

    def synth(model: str) -> dict[str, Any]:
        if model not in templates:
            app = cli_app(tmp_path_factory.mktemp(f"retrained-{model}"))
            stack = ModelServingStack(app, prod.stack_name, config=with_new_model_data(prod, model))
            templates[model] = app.synth().get_stack_by_name(stack.stack_name).template
        return templates[model]

    return synth
