"""What every subcommand shares: the AWS session, the environment files, and lookups in them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from safe_sagemaker.cli.errors import EXIT_FAILED, CliError
from safe_sagemaker.cli.http import ApiCaller
from safe_sagemaker.cli.release_plan import NESTED_STACK_TYPE
from safe_sagemaker.config import (
    ENVIRONMENTS_DIR,
    ConfigError,
    EnvironmentConfig,
    ModelConfig,
    load_environments,
)


@dataclass
class Context:
    """Built once per invocation from the global options (``--profile``, ``--region``,
    ``--environments``) and handed to every subcommand."""

    profile: str | None = None
    region: str | None = None
    environments_dir: Path = ENVIRONMENTS_DIR
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def session(self) -> boto3.Session:
        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            environments = load_environments(self.environments_dir)
        except ConfigError as error:
            raise CliError(f"configuration error: {error}", EXIT_FAILED) from None
        for environment in environments:
            if environment.name == name:
                return environment
        known = ", ".join(e.name for e in environments)
        raise CliError(
            f"unknown environment {name!r}: no {name}.json in {self.environments_dir} "
            f"(known: {known})",
            EXIT_FAILED,
        )


def find_model(environment: EnvironmentConfig, name: str) -> ModelConfig:
    for model in environment.models:
        if model.name == name:
            return model
    known = ", ".join(m.name for m in environment.models)
    raise CliError(
        f"unknown model {name!r} in environment {environment.name!r} (known: {known})", EXIT_FAILED
    )


def logical_id_prefix(model_name: str) -> str:
    """CDK's logical ids keep only the alphanumerics of a construct id: ServedModel is named
    after the model, so ``fraud-detector`` resources start with ``frauddetector``."""
    return re.sub(r"[^A-Za-z0-9]", "", model_name)


def invoke_url_output(model_name: str) -> str:
    """The stack output holding the model's route URL (see ``ModelServingStack``)."""
    return f"InvokeUrl{logical_id_prefix(model_name)}"


def stack_missing(error: Exception) -> bool:
    """CloudFormation's answer for a stack that is not there is a generic ValidationError."""
    text = str(error)
    return "does not exist" in text and "ValidationError" in text


def stack_outputs(context: Context, stack_name: str) -> dict[str, str]:
    try:
        stacks = context.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if stack_missing(error):
            raise CliError(missing_stack_message(context, stack_name)) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def missing_stack_message(context: Context, stack_name: str) -> str:
    region = context.session.region_name or "the default region"
    return (
        f"stack {stack_name} not found in {region}: deploy it (npx cdk deploy {stack_name}) "
        "or check --region/--profile"
    )


def missing_nested_stack_message(stack_name: str, name: str, arn: str | None) -> str:
    """A nested stack the top-level stack lists but CloudFormation does not have (a create
    that failed, a stack deleted by hand)."""
    where = f" ({arn})" if arn else ""
    return (
        f"nested stack {name!r} of {stack_name} not found{where}: deploy the environment "
        f"again (npx cdk deploy {stack_name}) and check the stack's events"
    )


def stack_resources(
    context: Context, stack_name: str, missing: str | None = None
) -> list[dict[str, Any]]:
    """ListStackResources of ``stack_name`` (a name, or a nested stack's ARN); ``missing``: the
    error when it is not there (default: the top-level stack's)."""
    paginator = context.client("cloudformation").get_paginator("list_stack_resources")
    try:
        pages = paginator.paginate(StackName=stack_name)
        return [summary for page in pages for summary in page["StackResourceSummaries"]]
    except ClientError as error:
        if stack_missing(error):
            raise CliError(missing or missing_stack_message(context, stack_name)) from None
        raise


def nested_stack_prefix(model_name: str) -> str:
    """The logical id of a model's nested stack in its parent (``nested_model_stacks``): CDK's
    ``<model>.NestedStack/<model>.NestedStackResource``, alphanumerics only, and a hash."""
    prefix = logical_id_prefix(model_name)
    return f"{prefix}NestedStack{prefix}NestedStackResource"


def model_resources(
    context: Context, environment: EnvironmentConfig, model: ModelConfig
) -> list[dict[str, Any]]:
    """The resources of ``model``'s rollout: the top-level stack's (the shared CodeDeploy
    application; the model itself in one stack) and, for a model in a nested stack of its own,
    that stack's (its deployment group, alias and alarms)."""
    stack = environment.stack_name
    resources = stack_resources(context, stack)
    nested = next(
        (
            summary
            for summary in resources
            if summary["ResourceType"] == NESTED_STACK_TYPE
            and summary["LogicalResourceId"].startswith(nested_stack_prefix(model.name))
        ),
        None,
    )
    if nested is None:
        if environment.nested_model_stacks:
            raise CliError(
                f"stack {stack} has no nested stack for model {model.name!r} "
                f"(nested_model_stacks is on): is the model deployed (npx cdk deploy {stack})?",
                EXIT_FAILED,
            )
        return resources
    arn = nested.get("PhysicalResourceId") or None
    missing = missing_nested_stack_message(stack, model.name, arn)
    if arn is None:
        raise CliError(missing)
    return resources + stack_resources(context, arn, missing)


def model_invoke_url(context: Context, environment: EnvironmentConfig, model: ModelConfig) -> str:
    outputs = stack_outputs(context, environment.stack_name)
    key = invoke_url_output(model.name)
    if key not in outputs:
        raise CliError(
            f"stack {environment.stack_name} has no output {key}: model {model.name!r} is "
            "configured but not deployed yet (npx cdk deploy)",
            EXIT_FAILED,
        )
    return outputs[key]


def project_root() -> Path:
    """The checkout whose cdk.json the CDK CLI runs with (synth, deploy)."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "cdk.json").exists():
            return folder
    raise CliError(
        "no cdk.json here or above: run this from the project checkout (it runs the CDK CLI)",
        EXIT_FAILED,
    )


def api_caller(context: Context, api_key: str | None) -> ApiCaller:
    """Signs with the session's credentials, unless an API key is given."""
    return ApiCaller(
        credentials=None if api_key else context.session.get_credentials(),
        region=context.session.region_name,
        api_key=api_key,
    )
