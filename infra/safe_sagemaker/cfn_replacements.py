"""What CloudFormation would do to each resource when a stack moves from template A to B,
decided with AWS's own resource schemas (the ones cfn-lint ships).

A resource is *replaced* when its type changes, when a create-only property (the schema's
``createOnlyProperties``) changes, when such a property refers to a resource that is itself
replaced (its physical id or attributes change), or when CDK gives the same construct a new
logical id (``aws:cdk:path`` metadata pairs them: a Lambda ``currentVersion`` does this). It is
*updated* when anything else in it changes or refers to a replaced resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as package_files
from typing import Any

PATH_METADATA = "aws:cdk:path"
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


@cache
def _schema_index() -> dict[str, str]:
    schemas = package_files.files("cfnlint") / "data" / "schemas"
    index: dict[str, str] = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    return index


@cache
def create_only_properties(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """The create-only property paths of ``resource_type``, e.g. ``(("PrimaryContainer",),)``.
    A custom resource has none: CloudFormation sends it an Update for any change, and its
    handler decides whether that replaces it (by answering a new physical id)."""
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        return ()
    schemas = package_files.files("cfnlint") / "data" / "schemas" / "resources"
    schema = json.loads((schemas / f"{_schema_index()[resource_type]}.json").read_text())
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")
        assert parts[:2] == ["", "properties"], pointer
        paths.append(tuple(parts[2:]))
    return tuple(paths)


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found.update(_SUB_REFERENCE.findall(text))
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


@dataclass
class Plan:
    """By logical id in B (for a replacement under a new logical id: B's, with A's in
    ``renamed``)."""

    replaced: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)  # B's logical id -> A's

    @property
    def changed(self) -> set[str]:
        return self.replaced | self.updated | self.added


def _without_cdk_metadata(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` without the metadata CDK writes for itself (construct path, asset paths):
    it changes when the same stack is synthesized inside a pipeline stage, and CloudFormation
    records it without touching the resource."""
    metadata = {
        key: value
        for key, value in resource.get("Metadata", {}).items()
        if key != PATH_METADATA and not key.startswith("aws:asset:")
    }
    return {**resource, "Metadata": metadata}


def plan(
    before: dict[str, Any],
    after: dict[str, Any],
    changed_parameters: AbstractSet[str] = frozenset(),
) -> Plan:
    """``changed_parameters``: the template's parameters whose value changes (a nested stack's
    inputs from its parent): what refers to one changes as if it referred to a replaced
    resource."""
    old = before["Resources"]
    new = after["Resources"]
    result = Plan()

    def path(resource: dict[str, Any]) -> str | None:
        found: str | None = resource.get("Metadata", {}).get(PATH_METADATA)
        return found

    gone = {k: v for k, v in old.items() if k not in new}
    fresh = {k: v for k, v in new.items() if k not in old}
    by_path = {(path(v), v["Type"]): k for k, v in gone.items() if path(v) is not None}
    for logical_id, resource in fresh.items():
        predecessor = by_path.pop((path(resource), resource["Type"]), None)
        if predecessor is None:
            result.added.add(logical_id)
        else:
            result.replaced.add(logical_id)
            result.renamed[logical_id] = predecessor
    result.removed = set(by_path.values()) | {k for k, v in gone.items() if path(v) is None}

    common = [k for k in new if k in old]
    for logical_id in common:
        a, b = old[logical_id], new[logical_id]
        if a["Type"] != b["Type"] or any(
            _at(a.get("Properties", {}), p) != _at(b.get("Properties", {}), p)
            for p in create_only_properties(b["Type"])
        ):
            result.replaced.add(logical_id)
        elif _without_cdk_metadata(a) != _without_cdk_metadata(b):
            result.updated.add(logical_id)

    # A replaced resource gets a new physical id and attributes: whatever refers to it changes
    # too, and is replaced if the reference sits in a create-only property.
    changed = True
    while changed:
        changed = False
        for logical_id in common:
            if logical_id in result.replaced:
                continue
            moved = result.replaced | changed_parameters
            resource = new[logical_id]
            properties = resource.get("Properties", {})
            create_only = set().union(
                *(references(_at(properties, p)) for p in create_only_properties(resource["Type"]))
            )
            if create_only & moved:
                result.replaced.add(logical_id)
                result.updated.discard(logical_id)
                changed = True
            elif logical_id not in result.updated and references(resource) & moved:
                result.updated.add(logical_id)
                changed = True
    return result
