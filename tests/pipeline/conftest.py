"""The pipeline app (the environments plus the example pipeline config), synthesized ONCE per
session; the synth time is printed with -s and kept in ``PipelineSynth.seconds``. A second
session synth (``approved_synth``) is the pipeline's synth step after a model approval: Prod
serves the registry model too, and the context names a newer approved version."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import ENVIRONMENTS_DIR
from safe_sagemaker.pipeline.config import EXAMPLE_FILE
from tests.conftest import cli_app


class PipelineSynth:
    """Top-level templates by stack name, and each stage's templates (nested assemblies)."""

    def __init__(self, outdir: Path, environments_dir: Path | None = None, **context: Any) -> None:
        from aws_cdk.assertions import Template

        from app import build_app

        started = time.perf_counter()
        self.app = build_app(cli_app(outdir, **context), environments_dir=environments_dir)
        self.assembly = self.app.synth()
        self.seconds = time.perf_counter() - started
        self.outdir = outdir
        self.templates = {a.stack_name: a.template for a in self.assembly.stacks}
        self.template = Template.from_json(self.templates["PipelineStack"])
        self.stage_templates: dict[str, dict[str, Any]] = {}
        self.stage_template_paths: dict[str, Path] = {}
        for assembly in sorted(outdir.glob("assembly-*")):
            for path in sorted(assembly.glob("*.template.json")):
                key = f"{assembly.name.removeprefix('assembly-PipelineStack-')}/{path.name}"
                self.stage_template_paths[key] = path
                self.stage_templates[key] = json.loads(path.read_text())

    def resources(self, resource_type: str) -> dict[str, Any]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates["PipelineStack"]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())


@pytest.fixture(scope="session")
def pipeline_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineSynth]:
    synth = PipelineSynth(
        tmp_path_factory.mktemp("pipeline.out"), pipeline_config=str(EXAMPLE_FILE)
    )
    print(f"\npipeline app synthesized in {synth.seconds:.1f} s")
    yield synth


# The example's registry group, the version dev.json pins, and the one the registry approved since.
REGISTRY_MODEL = "churn-scorer"
PINNED_PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/3"
APPROVED_PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/4"
# Dev's smoke tests in that synth.
SMOKE_TESTS = 5


@pytest.fixture(scope="session")
def approved_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineSynth]:
    """``cdk synth -c approved_model_packages=churn-scorer=<version 4>`` of the example pipeline
    (with ``SMOKE_TESTS`` smoke tests of Dev) over environments where prod serves dev's registry
    model too (at the same pinned version)."""
    root = tmp_path_factory.mktemp("approved")
    environments = root / "environments"
    environments.mkdir()
    shutil.copy(ENVIRONMENTS_DIR / "dev.json", environments)
    dev = json.loads((ENVIRONMENTS_DIR / "dev.json").read_text())
    prod = json.loads((ENVIRONMENTS_DIR / "prod.json").read_text())
    (registry_model,) = [m for m in dev["models"] if m["name"] == REGISTRY_MODEL]
    assert registry_model["model_package_arn"] == PINNED_PACKAGE
    prod["models"].append(registry_model)
    (environments / "prod.json").write_text(json.dumps(prod))
    # More smoke tests than one step's configuration holds (CodePipeline: 1,000 characters).
    pipeline = json.loads(EXAMPLE_FILE.read_text())
    (dev_stage,) = [stage for stage in pipeline["stages"] if stage["environment"] == "dev"]
    (smoke,) = dev_stage["smoke_tests"]
    dev_stage["smoke_tests"] = [{**smoke, "timeout_seconds": 10 + n} for n in range(SMOKE_TESTS)]
    pipeline_file = root / "pipeline.json"
    pipeline_file.write_text(json.dumps(pipeline))
    synth = PipelineSynth(
        root / "cdk.out",
        environments_dir=environments,
        pipeline_config=str(pipeline_file),
        approved_model_packages=f"{REGISTRY_MODEL}={APPROVED_PACKAGE}",
    )
    print(f"\npipeline app with an approved model package synthesized in {synth.seconds:.1f} s")
    yield synth
