"""A syrupy snapshot of the pipeline stack, normalised as the serving stacks' snapshots are.
Update an intended change with `make snapshot-update`."""

from __future__ import annotations

import json
import re
from typing import Any

from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.test_snapshots import normalise
from tests.pipeline.conftest import PipelineSynth

# The asset-publishing buildspec file is named after its content, which lists the asset hashes.
_BUILDSPEC_FILE = re.compile(r"buildspec-[0-9a-f]+-")


def normalise_pipeline(template: dict[str, Any]) -> Any:
    text = json.dumps(normalise(template), sort_keys=True)
    return json.loads(_BUILDSPEC_FILE.sub("buildspec-<hash>-", text))


def test_pipeline_stack_snapshot(
    pipeline_synth: PipelineSynth, snapshot: SnapshotAssertion
) -> None:
    template = pipeline_synth.templates["PipelineStack"]
    assert normalise_pipeline(template) == snapshot.use_extension(JSONSnapshotExtension)
