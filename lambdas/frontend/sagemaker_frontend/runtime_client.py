"""SageMaker runtime client factory: timeouts and retries that fit the 29 s budgets.

The time budget, worst case, for one API request:

- API Gateway's REST integration timeout is 29 s (hard), the Lambda timeout is 29 s.
- The client makes at most ``MAX_ATTEMPTS`` = 2 attempts ("standard" retry mode: a retry
  only on throttling, HTTP 500/502/503/504 and connection errors; never on ``ModelError``).
- Each attempt can take at most ``CONNECT_TIMEOUT_S`` + ``READ_TIMEOUT_S`` = 2 s + 8 s = 10 s.
- Before the single retry botocore sleeps ``rand(0, 1) * base``: <= 1 s for throttling
  (50 ms otherwise); only if the service sent an ``x-amz-retry-after`` header may the sleep grow
  to at most 5 s more (botocore caps it at ``t_i + 5 s``).

  worst case = 2 x (2 s + 8 s) + 1 s + 5 s = 26 s  <  29 s

The >= 3 s left over pay for a cold start (init measured at ~0.3 s locally, more in Lambda)
and for request parsing and response shaping, so the function always answers with its own JSON
504 before API Gateway gives up at 29 s. A read timeout of 8 s is far above the model latency a
synchronous API can serve; SageMaker's own container timeout (60 s) never comes into play.

Note that urllib3's read timeout bounds each socket read, not the whole response; SageMaker
sends the response in one piece once the container has answered, so per read is per response.

The endpoint URL is never passed explicitly: botocore honours
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` (and ``AWS_ENDPOINT_URL``) by itself, which is how the
end-to-end tests point the real client at a local fake runtime.
"""

from __future__ import annotations

from typing import Any, Protocol

import botocore.session
from botocore.config import Config

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 8.0
MAX_ATTEMPTS = 2
# Largest botocore back-off before the one retry: 1 s of throttling jitter plus the 5 s that an
# x-amz-retry-after header can add.
MAX_RETRY_SLEEP_S = 1.0 + 5.0
WORST_CASE_S = MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + MAX_RETRY_SLEEP_S
INTEGRATION_TIMEOUT_S = 29.0  # API Gateway REST integration timeout (and our Lambda timeout)


class StreamingBodyLike(Protocol):
    """The part of botocore's ``StreamingBody`` this function uses."""

    def read(self) -> bytes: ...


class RuntimeClient(Protocol):
    """The part of the ``sagemaker-runtime`` client this function uses."""

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]: ...


def client_config(
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    max_attempts: int = MAX_ATTEMPTS,
) -> Config:
    """The botocore ``Config`` of the runtime client (tests shorten the read timeout)."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
    )


def build_client(
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
    max_attempts: int = MAX_ATTEMPTS,
) -> RuntimeClient:
    """Create the ``sagemaker-runtime`` client; call it once per process, at init.

    It goes through a plain botocore session: the runtime's boto3 adds nothing this function
    uses and importing it costs init time. Region, credentials and the endpoint URL come from
    the environment (``AWS_REGION``, the Lambda role, ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``).
    """
    session = botocore.session.get_session()
    client: RuntimeClient = session.create_client(
        "sagemaker-runtime",
        config=client_config(
            connect_timeout=connect_timeout, read_timeout=read_timeout, max_attempts=max_attempts
        ),
    )
    return client
