"""One environment as a stage of the delivery pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stage
from constructs import Construct

from safe_sagemaker.config import EnvironmentConfig
from safe_sagemaker.serving_stack import ModelServingStack


class ServingStage(Stage):
    """The environment's ``ModelServingStack``, as ``cdk deploy <Name>Stack`` deploys it.

    Inside a stage the stack's construct path (and so its artifact id) differs from the
    top-level stack's, but its CloudFormation stack name is the same: the pipeline updates the
    stack a team may have deployed by hand rather than creating a second one whose fixed
    endpoint and bucket names would collide with the first. The stack's environment comes from
    the environment file (unset: the pipeline's account and region).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        api_invoke_accounts: Sequence[str] = (),
    ) -> None:
        """``api_invoke_accounts``: see ``ModelServingStack``; the pipeline's account when it
        smoke-tests this stage from another account."""
        super().__init__(scope, construct_id)
        self.config = config
        self.stack = ModelServingStack(
            self,
            config.stack_name,
            config=config,
            stack_name=config.stack_name,
            api_invoke_accounts=api_invoke_accounts,
        )
