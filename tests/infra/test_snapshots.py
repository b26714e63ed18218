"""One syrupy snapshot per stack. Update intended changes with `make snapshot-update`.

Asset hashes (Lambda code bundles) and the Lambda version logical ids derived from them are
normalised, so editing handler code does not churn the snapshots; the Lambda tests cover code.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import Synthesized

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")
_VERSION_ID = re.compile(r"(CurrentVersion)[0-9A-Fa-f]{40}")


def normalise(template: dict[str, Any]) -> Any:
    text = json.dumps(template, sort_keys=True)
    text = _ASSET_HASH.sub("<asset-hash>", text)
    text = _VERSION_ID.sub(r"\1<hash>", text)
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", ["DevStack", "ProdStack"])
def test_stack_snapshot(
    synthesized: Synthesized, snapshot_json: SnapshotAssertion, stack_name: str
) -> None:
    assert normalise(synthesized.templates[stack_name]) == snapshot_json
