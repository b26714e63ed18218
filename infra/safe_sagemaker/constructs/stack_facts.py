"""A stack's partition, region, account and name, read from CDK once, and ARNs built from them.

Each ``Stack.of``, ``stack.partition`` or ``stack.format_arn`` is a jsii round trip; a stack with
many models would ask the same questions dozens of times per model.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from constructs import IConstruct


@dataclass(frozen=True)
class StackFacts:
    stack: Stack
    partition: str
    region: str
    account: str
    stack_name: str

    def arn(
        self,
        service: str,
        resource: str,
        resource_name: str,
        *,
        region: str | None = None,
        account: str | None = None,
        colon: bool = False,
    ) -> str:
        """``stack.format_arn(service=..., resource=..., resource_name=..., region=...,
        account=...)`` with ``ArnFormat.SLASH_RESOURCE_NAME`` (``COLON_RESOURCE_NAME`` when
        ``colon``): the same string, as CDK joins it from the same parts."""
        region = self.region if region is None else region
        account = self.account if account is None else account
        separator = ":" if colon else "/"
        return (
            f"arn:{self.partition}:{service}:{region}:{account}:"
            f"{resource}{separator}{resource_name}"
        )


_BY_STACK: dict[int, StackFacts] = {}
# The facts each construct asked for, with the construct itself (an id can be reused once an
# object is gone): a construct never moves to another stack, and a construct that asks twice
# (its role's principal, an ARN, an alarm name) then costs one ``Stack.of``.
_BY_SCOPE: dict[int, tuple[IConstruct, StackFacts]] = {}


def stack_facts(scope: IConstruct) -> StackFacts:
    """The facts of ``scope``'s stack: one ``Stack.of`` per construct, one read of each per
    stack."""
    known = _BY_SCOPE.get(id(scope))
    if known is not None and known[0] is scope:
        return known[1]
    stack = Stack.of(scope)
    facts = _BY_STACK.get(id(stack))
    if facts is None or facts.stack is not stack:
        facts = _BY_STACK[id(stack)] = StackFacts(
            stack=stack,
            partition=stack.partition,
            region=stack.region,
            account=stack.account,
            stack_name=stack.stack_name,
        )
    _BY_SCOPE[id(scope)] = (scope, facts)
    return facts
