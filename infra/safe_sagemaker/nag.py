"""cdk-nag (v3) wiring: the rule packs, and narrow acknowledgements with reasons.

AwsSolutions runs on the whole app (``add_nag_checks``). The compliance packs, Serverless and
NIST 800-53 R5, run on each serving stack (``add_compliance_checks``, which ModelServingStack
calls): the delivery pipeline's stack is CDK Pipelines' generated CI plumbing, outside the
serving compliance boundary, and is held to AwsSolutions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    App,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    Stack,
    Validations,
)
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, NagPack, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

# The packs an acknowledgement may name, by the prefix of their rule ids.
PACKS = ("AwsSolutions", "Serverless", "NIST.800.53.R5")


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions pack at synth; any unacknowledged finding stops the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def add_compliance_checks(stack: Stack) -> None:
    """Run the Serverless and NIST 800-53 R5 packs on ``stack`` (and only on it) at synth; any
    unacknowledged error stops the synth, like AwsSolutions."""
    Validations.of(stack).add_plugins(
        _ScopedPack(ServerlessChecks(), stack), _ScopedPack(NIST80053R5Checks(), stack)
    )


@jsii.implements(IPolicyValidationPlugin)
class _ScopedPack:
    """A cdk-nag pack that checks one construct's subtree instead of the whole app. A
    validation plugin can only be added to a Stage; cdk-nag's ``validate`` walks the whole app.
    The report carries the pack's name, so acknowledgements read ``<pack>::<rule>``."""

    def __init__(self, pack: NagPack, scope: IConstruct) -> None:
        self._pack = pack
        self._scope = scope

    @property
    def name(self) -> str:
        return self._pack.name

    @property
    def rule_ids(self) -> list[str] | None:
        return self._pack.rule_ids

    @property
    def version(self) -> str | None:
        return self._pack.version

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        return self._pack.validate_scope(self._scope)


@dataclass(frozen=True)
class Ack:
    """One acknowledgement for ``acknowledge_all``; the fields are ``acknowledge``'s arguments."""

    rule: str | Sequence[str]
    reason: str
    findings: tuple[str, ...] = ()


def acknowledge(
    construct: IConstruct,
    rule: str | Sequence[str],
    reason: str,
    *,
    findings: tuple[str, ...] = (),
) -> None:
    """Acknowledge the pack-qualified ``rule`` (``AwsSolutions-IAM5``,
    ``NIST.800.53.R5-LambdaInsideVPC``), or each of several rules that the same reason answers
    (e.g. ``LAMBDA_DLQ``), on ``construct`` and its children.

    ``findings`` narrows a granular rule to exact findings, e.g. ``("Resource::*",)``; without
    them the whole rule is acknowledged. Every acknowledgement carries a reviewer-grade reason.
    """
    acknowledge_all(construct, Ack(rule, reason, findings))


def acknowledge_all(construct: IConstruct, *acks: Ack) -> None:
    """Several acknowledgements on ``construct``, each with its own reason (as ``acknowledge``
    makes them), in one jsii call instead of one each: a model acknowledges a few on the same
    function or role, and every call into CDK's JavaScript adds to synth time."""
    Validations.of(construct).acknowledge(*(a for ack in acks for a in _acknowledgments(ack)))


def _acknowledgments(ack: Ack) -> list[Acknowledgment]:
    rules = [ack.rule] if isinstance(ack.rule, str) else list(ack.rule)
    if len(ack.reason) < 20:
        raise ValueError(f"acknowledgement of {rules[0]} needs a real reason, got {ack.reason!r}")
    ids = []
    for name in rules:
        pack = next((p for p in PACKS if name.startswith(f"{p}-")), None)
        if pack is None:
            raise ValueError(
                f"acknowledgement of {name!r}: name the pack, e.g. AwsSolutions-IAM5 "
                f"(packs: {', '.join(PACKS)})"
            )
        rule_id = f"{pack}::{name}"
        ids += [f"{rule_id}[{finding}]" for finding in ack.findings] or [rule_id]
    return [Acknowledgment(id=i, reason=ack.reason) for i in ids]


# Rules that two packs check alike, to acknowledge with one reason.
LAMBDA_DLQ = ("Serverless-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ")
INLINE_POLICY = "NIST.800.53.R5-IAMNoInlinePolicy"


def acknowledge_inline_policies(scope: IConstruct) -> None:
    """Acknowledge NIST's IAMNoInlinePolicy on each inline policy under ``scope``: on every
    ``AWS::IAM::Policy`` and every role with ``Policies``, not on ``scope``. Call it when
    ``scope`` is complete (a policy added later is reported)."""
    for construct in scope.node.find_all():
        inline = isinstance(construct, iam.CfnPolicy) or (
            isinstance(construct, iam.CfnRole) and construct.policies is not None
        )
        if inline:
            acknowledge(
                construct,
                INLINE_POLICY,
                "least privilege the CDK way: each grant writes its statements into a policy "
                "of the one role it serves, scoped to exact ARNs, created and deleted with "
                "that role; a customer-managed policy would be a reusable, attachable object "
                "without narrowing any permission",
            )


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


def stale_acknowledgements(root: IConstruct, report: dict[str, Any]) -> list[tuple[str, str]]:
    """The acknowledgements under ``root`` that suppressed no finding in ``report`` (the
    synthesized ``validation-report.json``), as ``(construct path, rule id)``. A stale one
    would silently accept a future finding of that rule, e.g. a new ``*`` resource."""
    used = {
        (suppressed["acknowledgedAt"], suppressed["acknowledgedId"])
        for plugin in report.get("pluginReports", [])
        for suppressed in plugin.get("suppressedViolations", [])
    }
    made = {
        (construct.node.path, rule_id)
        for construct in root.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule_id in entry.data
    }
    return sorted(made - used)
