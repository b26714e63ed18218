"""cdk-nag (v3) wiring: the rule pack on the app, and narrow acknowledgements with reasons."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions pack at synth; any unacknowledged finding stops the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(
    construct: IConstruct, rule: str, reason: str, *, findings: tuple[str, ...] = ()
) -> None:
    """Acknowledge ``rule`` (e.g. ``IAM5``) on ``construct`` and its children.

    ``findings`` narrows a granular rule to exact findings, e.g. ``("Resource::*",)``; without
    them the whole rule is acknowledged. Every acknowledgement carries a reviewer-grade reason.
    """
    if len(reason) < 20:
        raise ValueError(f"acknowledgement of {rule} needs a real reason, got {reason!r}")
    rule_id = f"{PACK}::{PACK}-{rule}"
    ids = [f"{rule_id}[{finding}]" for finding in findings] or [rule_id]
    Validations.of(construct).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


# A string token as CDK encodes it in a string (``${Token[TOKEN.123]}``). Each marker stands for
# one token for the life of the process, so its rendering is looked up once.
_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")
_RENDERED: dict[str, str] = {}


def wildcard_resource(scope: IConstruct, resource: str) -> str:
    """The IAM5 finding id of a policy resource such as ``f"{bucket_arn}/prefix/*"``, rendered
    as cdk-nag renders it (``Ref`` as ``<Name>``, ``Fn::GetAtt`` as ``<LogicalId.Attr>``), so an
    acknowledgement can name the exact resource instead of the whole rule."""
    return wildcard_resources(scope, [resource])[0]


def wildcard_resources(scope: IConstruct, resources: Iterable[str]) -> tuple[str, ...]:
    """``wildcard_resource`` of each of ``resources``. The tokens in them are resolved in one
    jsii call, and only those not rendered before: rendering a string is rendering its tokens
    in place, as the ``Fn::Join`` that CDK resolves it to joins them with the literal parts."""
    resources = tuple(resources)
    missing = sorted({token for r in resources for token in _TOKEN.findall(r)} - _RENDERED.keys())
    if missing:
        resolved = Stack.of(scope).resolve(missing)
        _RENDERED.update(zip(missing, map(_render, resolved), strict=True))
    return tuple(
        "Resource::" + _TOKEN.sub(lambda token: _RENDERED[token.group(0)], r) for r in resources
    )


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")
