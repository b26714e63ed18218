"""``safe-sagemaker invoke``: one request to a model's API route or straight to an endpoint."""

from __future__ import annotations

import base64
from pathlib import Path

import click

from safe_sagemaker.cli import options, output
from safe_sagemaker.cli.context import Context, api_caller, find_model, model_invoke_url
from safe_sagemaker.cli.errors import EXIT_FAILED, CliError, aws_errors
from safe_sagemaker.cli.http import Answer, invoke_endpoint

EXAMPLES = """
\b
Examples:
  safe-sagemaker invoke fraud-detector --env prod --data '{"instances": [[0.1, 2]]}'
  safe-sagemaker invoke churn-xgboost --env prod --content-type text/csv --data @row.csv
  safe-sagemaker invoke fraud-detector --env dev --api-key "$KEY" \
      --url https://abc.execute-api.eu-west-1.amazonaws.com/v1/models/fraud-detector/invocations
  safe-sagemaker invoke fraud-detector --env dev --endpoint dev-fraud-detector-5912c004 --json
"""


def read_data(data: str) -> bytes:
    """``--data``: the body itself, or ``@path`` for a file's bytes."""
    if data.startswith("@"):
        path = Path(data[1:])
        try:
            return path.read_bytes()
        except OSError as error:
            message = f"cannot read --data file {path}: {error.strerror}"
            raise CliError(message, EXIT_FAILED) from None
    return data.encode()


def body_text(body: bytes) -> tuple[str, bool]:
    """The body as text, or base64 (second value True) when it is not UTF-8."""
    try:
        return body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


def render(answer: Answer, as_json: bool) -> None:
    text, encoded = body_text(answer.body)
    if as_json:
        output.print_json({**answer.summary(), "body": text, "body_base64": encoded})
        return
    output.stdout.print(
        f"status {answer.status}   latency {answer.latency_ms:.1f} ms   "
        f"endpoint {answer.endpoint or '-'}   model version {answer.model_version or '-'}",
        highlight=False,
    )
    output.stdout.print(text if not encoded else f"(binary, base64) {text}", markup=False)


@click.command(epilog=EXAMPLES)
@click.argument("model")
@options.env
@options.body('{"instances": []}')
@options.api_target
@click.option("--endpoint", help="Call this SageMaker endpoint directly, not the API.")
@options.json_output
@click.pass_obj
def invoke(
    context: Context,
    model: str,
    env_name: str,
    data: str,
    content_type: str,
    url: str | None,
    api_key: str | None,
    endpoint: str | None,
    as_json: bool,
) -> None:
    """Send one request to MODEL and print status, latency, who answered and the body.

    Requests to the API are signed with your AWS credentials (SigV4, service execute-api)
    unless --api-key is given. Exits 1 when the answer is not a 2xx.
    """
    environment = context.environment(env_name)
    served = find_model(environment, model)
    body = read_data(data)
    with aws_errors():
        if endpoint is not None:
            runtime = context.client("sagemaker-runtime")
            answer = invoke_endpoint(runtime, endpoint, body, content_type)
        else:
            target = url or model_invoke_url(context, environment, served)
            answer = api_caller(context, api_key).post(target, body, content_type)
    render(answer, as_json)
    if not 200 <= answer.status < 300:
        raise SystemExit(EXIT_FAILED)
