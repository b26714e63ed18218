"""boto3 clients as the hooks create them once per Lambda execution environment."""

from __future__ import annotations

import boto3
from botocore.client import BaseClient
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 3
# Control-plane calls (CodeDeploy, SageMaker, Lambda configuration, CloudWatch) answer in well
# under a second; 10 s bounds a stuck connection without cutting off a slow but healthy answer.
CONTROL_PLANE_READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 3


def client_config(read_timeout: float = CONTROL_PLANE_READ_TIMEOUT_SECONDS) -> Config:
    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
    )


def client(
    service_name: str, read_timeout: float = CONTROL_PLANE_READ_TIMEOUT_SECONDS
) -> BaseClient:
    return boto3.client(service_name, config=client_config(read_timeout))
