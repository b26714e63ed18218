"""Reading synthesized templates in tests: intrinsic values as text, resources by type."""

from __future__ import annotations

import json
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


# What an intrinsic value can be at most once deployed: pseudo parameters at their longest in any
# partition, names CloudFormation generates (<stack>-<logical id>-<suffix>, cut to the
# resource's limit) at 80 characters unless the service's limit is longer, ARNs with an
# 80-character resource part.
_LONGEST_PSEUDO = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-2",
    "AWS::AccountId": "1" * 12,
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "S" * 128,
}
_GENERATED = "g" * 80
_ARN = "arn:{}:service:{}:{}:{}".format(
    *(_LONGEST_PSEUDO[p] for p in ("AWS::Partition", "AWS::Region", "AWS::AccountId")), _GENERATED
)
# What Ref gives, at its longest, for each resource type the checked documents refer to.
_REF_LONGEST = {
    "AWS::ApiGateway::RestApi": "r" * 10,
    "AWS::ApiGateway::Stage": "s" * 128,
    "AWS::CodeDeploy::Application": "c" * 100,
    "AWS::CodeDeploy::DeploymentGroup": "c" * 100,
    "AWS::IAM::ManagedPolicy": _ARN,
    "AWS::IAM::Role": "n" * 64,
    "AWS::KMS::Key": "k" * 36,
    "AWS::Lambda::Function": "n" * 64,
    "AWS::Logs::LogGroup": "l" * 512,
    "AWS::S3::Bucket": "b" * 63,
    "AWS::SNS::Topic": _ARN,
    "AWS::SQS::Queue": f"https://sqs.{_LONGEST_PSEUDO['AWS::Region']}.amazonaws.com.cn/"
    f"{_LONGEST_PSEUDO['AWS::AccountId']}/{_GENERATED}",
}


def deployed_at_most(value: Any, template: dict[str, Any]) -> Any:
    """``value`` (a policy document, say) with each intrinsic value replaced by the longest text
    it can deploy as (above), to measure against a service's size quota. Raises on a function,
    a resource type or an attribute it does not know, rather than guess its length."""
    if isinstance(value, list):
        return [deployed_at_most(item, template) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function in ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::FindInMap"):
            return _longest(function, argument, template)
        if function.startswith("Fn::") or function == "Condition":
            raise ValueError(f"no longest value known for {function}")
    return {key: deployed_at_most(item, template) for key, item in value.items()}


def _longest(function: str, argument: Any, template: dict[str, Any]) -> str:
    if function == "Fn::FindInMap":
        mapping, _, attribute = argument
        entries = template["Mappings"][mapping].values()
        return max((str(entry[attribute]) for entry in entries), key=len)
    if function == "Fn::Join":
        separator, parts = argument
        return str(separator).join(str(deployed_at_most(part, template)) for part in parts)
    if function == "Fn::GetAtt":
        attribute = argument[1]
        if attribute.endswith("Arn") or attribute.startswith("Outputs."):
            return _ARN
        raise ValueError(f"no longest value known for the attribute {attribute} of {argument[0]}")
    if argument in _LONGEST_PSEUDO:
        return _LONGEST_PSEUDO[argument]
    if argument in template.get("Parameters", {}):
        # A nested stack's parameter: an ARN or a name of its parent's.
        return _ARN
    resource_type = template["Resources"][argument]["Type"]
    if resource_type not in _REF_LONGEST:
        raise ValueError(f"no longest value known for a Ref to {resource_type}")
    return _REF_LONGEST[resource_type]


def compact_length(document: Any) -> int:
    """Characters of ``document`` as JSON without whitespace, as IAM and SQS count a policy."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False))
