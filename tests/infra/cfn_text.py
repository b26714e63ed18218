"""Reading synthesized templates in tests: intrinsic values as text, resources by type."""

from __future__ import annotations

from typing import Any


def render(value: Any) -> str:
    """``Fn::Join`` flattened, ``Ref`` as ``<Name>``, ``Fn::GetAtt`` as ``<LogicalId.Attr>``,
    ``Fn::FindInMap`` as ``<Map[key].attr>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::FindInMap" in value:
        name, key, attribute = value["Fn::FindInMap"]
        return f"<{name}[{render(key)}].{attribute}>"
    separator, parts = value["Fn::Join"]
    return str(separator).join(render(part) for part in parts)


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy_document["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
