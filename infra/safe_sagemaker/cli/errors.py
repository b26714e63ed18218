"""One-line errors: every failure a user can cause or meet reaches them as one line, no trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

# Exit codes: 1 is "the thing you asked about failed" (a rollback, a risk, an error answer);
# 2 is Click's own for bad usage; 3 is "could not find out" (credentials, network, missing stack).
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 3


class CliError(click.ClickException):
    """Printed by Click as ``Error: <message>`` on stderr, without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(message)
        # Click declares exit_code as a class variable; each of these errors carries its own.
        vars(self)["exit_code"] = exit_code


def describe_aws_error(error: Exception) -> str:
    """The one line a user needs for an exception raised by botocore."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or use --api-key where the API takes keys"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        return f"cannot reach the endpoint: {error}"
    if isinstance(error, ReadTimeoutError):
        return f"the endpoint did not answer in time: {error}"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "the call")
        return f"{operation} failed: {details.get('Code', '?')}: {details.get('Message', '')}"
    return f"AWS SDK error: {error}"


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn any botocore exception escaping the block into a one-line ``CliError``."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise CliError(describe_aws_error(error)) from None
