"""Custom resource ``Custom::EndpointLogGroup`` (CDK Provider framework): adopt or create a
SageMaker endpoint's log group. The logic is in ``log_group_resource``; this only wires boto3."""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from log_group_resource import on_event

logging.getLogger().setLevel(logging.INFO)

# Built once per execution environment; a few short calls, well inside the function's timeout.
_LOGS = boto3.client(
    "logs",
    config=Config(
        connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
    ),
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return on_event(event, _LOGS)
