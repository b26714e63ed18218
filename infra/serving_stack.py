"""The per-environment stack: every configured model, its alarms and the shared alerting."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.alerts_topic import AlertsTopic
from infra.served_model import ServedModel


class ModelServingStack(Stack):
    """Everything one environment serves. ``DevStack`` and ``ProdStack`` are instances."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        env = None
        if config.account or config.region:
            env = Environment(account=config.account, region=config.region)
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=f"SageMaker real-time endpoints and their safe-deployment front end ({config.name})",
            **kwargs,
        )
        self.config = config
        removal = RemovalPolicy.RETAIN if config.production else RemovalPolicy.DESTROY
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)

        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts {config.name} endpoint volumes and log groups",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # CloudWatch Logs encrypts with the key only for log groups of this account and region.
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs", resource="log-group", resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        self.alerts = AlertsTopic(
            self, "Alerts", emails=config.alert_emails, removal_policy=removal
        )
        self.models = {
            model.name: ServedModel(
                self,
                model.name,
                environment=config,
                model=model,
                alerts=self.alerts,
                data_key=self.data_key,
            )
            for model in config.models
        }

