"""Lambda entry point (``handler.handler``): API Gateway REST proxy -> one SageMaker endpoint.

Thin on purpose: parse the event, call the endpoint, shape the response; the rules live in
``sagemaker_frontend.logic``. Nothing escapes ``handler``: an escaped exception would turn into
an API Gateway 502 that neither the caller nor the alarms can tell apart. So Lambda's
``Errors`` stay 0 even when this version is broken; instead every 500 it answers is counted as
``FrontendFailures`` (EMF), which a rollback alarm watches.

Init (once per execution environment): settings from the environment, a Powertools ``Logger``
and the ``sagemaker-runtime`` client (``sagemaker_frontend.runtime_client`` has the timeout
arithmetic). The hot path creates no client, compiles no regex, logs nothing on success unless
``POWERTOOLS_LOG_LEVEL=DEBUG``, never logs the event, and logs the request body only when
``LOG_REQUEST_BODY=true``.

Powertools choice, measured (tests/benchmarks/bench_frontend.py: fresh processes, medians,
after ``import boto3``, on a shared 2-CPU machine): importing any part of Powertools runs its
package ``__init__``, which imports the Logger, Metrics and Tracer modules together, 12-22 ms
whichever one is asked for; under ``-X importtime`` 15-19 ms, of which logging 8-12 ms,
metrics 4-5 ms, the tracing module 1-2 ms. So Logger (structured JSON logs) and the EMF
metrics cost nothing beyond that one import. Tracer is not used: a ``Tracer()`` imports and
patches ``aws_xray_sdk`` (not even installed here; tens of ms more at every cold start and a
subsegment per boto call), while Lambda active tracing already records each invocation and
its duration, and the model's own latency is SageMaker's ``ModelLatency`` metric. The client
is built from a botocore session, not ``boto3.client``: boto3 adds nothing used here, and
skipping it pays back most of the Powertools import: the whole init (imports + client)
measures 0.8-1.13x of ``import boto3`` + ``boto3.client`` alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import Logger
from sagemaker_frontend import logic, telemetry
from sagemaker_frontend.config import ConfigError, Settings
from sagemaker_frontend.runtime_client import RuntimeClient, build_client


def _create_logger() -> Logger:
    try:
        return Logger()
    except (ValueError, TypeError):  # e.g. POWERTOOLS_LOG_LEVEL=VERBOSE: log at INFO, still serve
        fallback = Logger(level="INFO")
        fallback.warning("unusable log level setting; logging at INFO")
        return fallback


logger = _create_logger()

_settings: Settings | None
_config_error: str | None = None
try:
    _settings = Settings.from_env(os.environ)
except ConfigError as exc:
    _settings = None
    _config_error = str(exc)
    logger.error("function misconfigured", reason=_config_error)

_client: RuntimeClient | None = None


def _get_client() -> RuntimeClient:
    """The process-wide runtime client, created on first use (normally at init, below)."""
    global _client  # noqa: PLW0603 - one client per process is the point
    if _client is None:
        _client = build_client()
    return _client


try:  # pay for the client during init, which runs with a full CPU
    _get_client()
except Exception:  # e.g. no region: every request then answers 500 and logs why
    logger.exception("could not create the SageMaker runtime client")


def _fail(error: logic.ApiError, request_id: str, log: Callable[..., None]) -> dict[str, Any]:
    log(error.message, request_id=request_id, status=error.status, **error.details)
    return logic.error_response(error, _settings, request_id)


def _handle(event: object, request_id: str) -> dict[str, Any]:
    settings = _settings
    if settings is None:
        return _fail(logic.ApiError(500, "function misconfigured"), request_id, logger.error)
    try:
        request = logic.parse_request(event, settings)
    except logic.ApiError as rejection:
        return _fail(rejection, request_id, logger.info)
    if settings.log_request_body:
        logger.info("request body", request_id=request_id, body=logic.loggable_body(request.body))
    try:
        result = _get_client().invoke_endpoint(**request.invoke_kwargs(settings.endpoint_name))
        body: bytes = result["Body"].read()
    except Exception as exc:  # every failure of the call is classified, none escapes
        failure = logic.classify_invoke_error(exc)
        if failure.metric is not None:
            telemetry.emit_count(failure.metric, settings)
        if failure.status == 500:  # unexpected: keep the stack trace
            logger.exception("invoke_endpoint failed", request_id=request_id)
            return logic.error_response(failure, settings, request_id)
        return _fail(failure, request_id, logger.error if failure.status >= 500 else logger.warning)
    try:
        response = logic.success_response(result, body, settings, request_id)
    except logic.ApiError as unusable:
        return _fail(unusable, request_id, logger.error)
    if logger.log_level <= logging.DEBUG:
        logger.debug(
            "prediction returned",
            request_id=request_id,
            request_bytes=len(request.body),
            response_bytes=len(body),
        )
    return response


def _count_failure(request_id: str) -> None:
    """Emit ``FrontendFailures`` for a 500: our own fault (misconfiguration, bug), which the
    rollback alarms must see although no exception reaches Lambda's ``Errors``."""
    settings = _settings
    if settings is None:  # no model name and version to count it under; the log says why
        return
    try:
        telemetry.emit_count(logic.FRONTEND_FAILURES, settings)
    except Exception:  # counting must not turn an answer into an escaped exception
        logger.exception("could not emit FrontendFailures", request_id=request_id)


def handler(event: object, context: object) -> dict[str, Any]:
    """Lambda handler: an API Gateway REST (v1) proxy event in, a proxy response out."""
    request_id = "unknown"
    try:
        request_id = logic.request_id_of(event, getattr(context, "aws_request_id", None))
        response = _handle(event, request_id)
    except Exception:  # the last line of defence
        logger.exception("unhandled error", request_id=request_id)
        response = logic.error_response(
            logic.ApiError(500, "internal error"), _settings, request_id
        )
    if response["statusCode"] == 500:  # every 500, whichever path answered it: counted once
        _count_failure(request_id)
    return response
