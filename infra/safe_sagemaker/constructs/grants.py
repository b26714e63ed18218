"""IAM helpers shared by the constructs, each in as few jsii round trips as CDK
allows (synth time grows with every call into the CDK's JavaScript)."""

from __future__ import annotations

from functools import cache

from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from safe_sagemaker.constructs.stack_facts import stack_facts


@cache
def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)``, one object per service for the process: a principal
    holds no state of the roles that trust it, so every role may share it."""
    return iam.ServicePrincipal(service)


def account_service_principal(scope: IConstruct, service: str) -> iam.ServicePrincipal:
    """``service`` as a role's trusted principal only while it acts for ``scope``'s account
    (``aws:SourceAccount``): the confused-deputy guard AWS documents for service roles, so that
    the service cannot be made to assume the role on behalf of another account's resource.
    For services that set the key: SageMaker, CodeDeploy, EventBridge (not Lambda).
    One object per service and account for the process, as ``service_principal``."""
    return _source_account_principal(service, stack_facts(scope).account)


@cache
def _source_account_principal(service: str, account: str) -> iam.ServicePrincipal:
    return iam.ServicePrincipal(
        service, conditions={"StringEquals": {"aws:SourceAccount": account}}
    )


def rule_target_role(rule: Construct) -> iam.Role:
    """The role an EventBridge rule delivers to its targets with, at the id (``EventsRole``)
    where the targets would create it, trusted by EventBridge only for this account. (The
    rule's own ARN as ``aws:SourceArn`` would make the rule and its role depend on each
    other.)"""
    return iam.Role(
        rule, "EventsRole", assumed_by=account_service_principal(rule, "events.amazonaws.com")
    )


def add_statement(principal: iam.IPrincipal, statement: iam.PolicyStatement) -> None:
    """``principal.add_to_principal_policy(statement)``, the same statement in the same default
    policy. On a ``Role`` it calls ``add_to_policy``, which does exactly that and returns a bool,
    where ``add_to_principal_policy`` returns a struct that Python then reads field by field."""
    if isinstance(principal, iam.Role):
        principal.add_to_policy(statement)
    else:
        principal.add_to_principal_policy(statement)


def grant_image_pull(role: iam.IRole, repository_arn: str) -> None:
    """Let ``role`` pull images from the one repository ``repository_arn``, whichever account owns
    it: AWS-owned registries need this identity statement too, but no repository policy of ours.
    ``ecr:GetAuthorizationToken`` has no resource-level permissions, so it is granted on ``*``."""
    add_statement(
        role,
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=[repository_arn],
        ),
    )
    add_statement(role, iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
