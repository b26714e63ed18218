"""checkov skips on single resources, with their reasons.

checkov reads a resource's skips from its CloudFormation Metadata
(``checkov: {skip: [{id, comment}]}``). A finding that concerns one resource is skipped there,
next to the resource and with the reason, rather than for the whole template in
``.checkov.yaml``. Where cdk-nag checks the same thing, its acknowledgement on the resource
gives the same reason.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_checks(resource: IConstruct, reason: str, *check_ids: str) -> None:
    """Skip ``check_ids`` (e.g. ``CKV_AWS_117``) on ``resource`` (a ``CfnResource``, or an L2
    construct whose default child is one) for ``reason``, keeping skips added before."""
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{resource.node.path} is not a CloudFormation resource")
    if len(reason) < 20:
        raise ValueError(f"skip of {check_ids[0]} needs a real reason, got {reason!r}")
    metadata = cfn.get_metadata("checkov") or {"skip": []}
    added = [{"id": check, "comment": reason} for check in check_ids]
    cfn.add_metadata("checkov", {"skip": [*metadata["skip"], *added]})
