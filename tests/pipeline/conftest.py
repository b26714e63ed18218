"""The pipeline app (the environments plus the example pipeline config), synthesized ONCE per
session; the synth time is printed with -s and kept in ``PipelineSynth.seconds``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.pipeline.config import EXAMPLE_FILE
from tests.conftest import cli_app


class PipelineSynth:
    """Top-level templates by stack name, and each stage's templates (nested assemblies)."""

    def __init__(self, outdir: Path, **context: Any) -> None:
        from aws_cdk.assertions import Template

        from app import build_app

        started = time.perf_counter()
        self.app = build_app(cli_app(outdir, **context))
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
