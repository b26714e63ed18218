"""The identity statements a SageMaker role needs to pull one ECR image."""

from __future__ import annotations

from aws_cdk import aws_iam as iam


def grant_image_pull(role: iam.IRole, repository_arn: str) -> None:
    """Let ``role`` pull images from the one repository ``repository_arn``, whichever account owns
    it: AWS-owned registries need this identity statement too, but no repository policy of ours.
    ``ecr:GetAuthorizationToken`` has no resource-level permissions, so it is granted on ``*``."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=[repository_arn],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
