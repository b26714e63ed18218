"""IAM helpers shared by the constructs, each in as few jsii round trips as CDK
allows (synth time grows with every call into the CDK's JavaScript)."""

from __future__ import annotations

from functools import cache

from aws_cdk import aws_iam as iam


@cache
def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)``, one object per service for the process: a principal
    holds no state of the roles that trust it, so every role may share it."""
    return iam.ServicePrincipal(service)


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
