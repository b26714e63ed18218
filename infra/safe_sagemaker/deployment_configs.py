"""Facts about CodeDeploy Lambda deployments that config validation and the constructs share.

Config files name a configuration as CodeDeploy does, without the ``CodeDeployDefault.Lambda``
prefix: ``Canary10Percent5Minutes`` is ``CodeDeployDefault.LambdaCanary10Percent5Minutes``.
``BlueGreenDeployment`` turns a name into the CDK object (``lambda_deployment_config``).
"""

from __future__ import annotations

# Config name -> attribute of aws_cdk.aws_codedeploy.LambdaDeploymentConfig.
_CDK_ATTRIBUTES = {
    "AllAtOnce": "ALL_AT_ONCE",
    "Canary10Percent5Minutes": "CANARY_10_PERCENT_5_MINUTES",
    "Canary10Percent10Minutes": "CANARY_10_PERCENT_10_MINUTES",
    "Canary10Percent15Minutes": "CANARY_10_PERCENT_15_MINUTES",
    "Canary10Percent30Minutes": "CANARY_10_PERCENT_30_MINUTES",
    "Linear10PercentEvery1Minute": "LINEAR_10_PERCENT_EVERY_1_MINUTE",
    "Linear10PercentEvery2Minutes": "LINEAR_10_PERCENT_EVERY_2_MINUTES",
    "Linear10PercentEvery3Minutes": "LINEAR_10_PERCENT_EVERY_3_MINUTES",
    "Linear10PercentEvery10Minutes": "LINEAR_10_PERCENT_EVERY_10_MINUTES",
}

DEPLOYMENT_CONFIG_NAMES = tuple(_CDK_ATTRIBUTES)
PRODUCTION_DEFAULT = "Canary10Percent5Minutes"
NON_PRODUCTION_DEFAULT = "AllAtOnce"
# The lifecycle hooks are Lambda functions: they run at most 15 minutes.
HOOK_TIMEOUT_SECONDS = 900


def check_deployment_config(name: str) -> str:
    """Return ``name`` if it is a predefined Lambda deployment configuration, else ValueError."""
    if name not in _CDK_ATTRIBUTES:
        raise ValueError(
            f"unknown deployment config {name!r}; use one of {', '.join(DEPLOYMENT_CONFIG_NAMES)}"
        )
    return name


def cdk_attribute(name: str) -> str:
    """The ``aws_codedeploy.LambdaDeploymentConfig`` attribute holding configuration ``name``."""
    return _CDK_ATTRIBUTES[check_deployment_config(name)]
