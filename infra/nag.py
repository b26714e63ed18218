"""cdk-nag (v3) wiring: the rule pack on the app, and narrow acknowledgements with reasons."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
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
