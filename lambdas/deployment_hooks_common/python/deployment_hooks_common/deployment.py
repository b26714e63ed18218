"""What a CodeDeploy Lambda deployment is about: the function, its two versions, their endpoints.

CloudFormation (``UpdatePolicy: CodeDeployLambdaAliasUpdate``) starts the deployment with an
AppSpec revision that names the function, the alias, the version the alias points at now
(``CurrentVersion``, blue) and the one it moves to (``TargetVersion``, green). Each version's
environment names exactly one SageMaker endpoint in ``ENDPOINT_NAME``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.client import BaseClient

from deployment_hooks_common.errors import HookFailedError

logger = Logger(child=True)

ENDPOINT_ENV_VAR = "ENDPOINT_NAME"
MODEL_ENV_VAR = "MODEL_NAME"
LAMBDA_FUNCTION_TYPE = "AWS::Lambda::Function"

# RevisionLocation.revisionType -> the member of RevisionLocation holding {content, sha256}.
_INLINE_REVISION_MEMBERS = {"AppSpecContent": "appSpecContent", "String": "string"}


@dataclass(frozen=True)
class AliasShift:
    """One Lambda alias moving from ``current_version`` (None if unknown) to ``target_version``."""

    function_name: str
    alias: str
    current_version: str | None
    target_version: str

    @property
    def is_reverse(self) -> bool:
        """True when the alias moves back to an OLDER version: CloudFormation rolling a stack
        update back after the forward shift succeeded. Versions are published with rising
        numbers, so a forward shift always targets a higher one."""
        current, target = self.current_version, self.target_version
        if current is None or not (current.isdigit() and target.isdigit()):
            return False
        return int(target) < int(current)


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    create_time: datetime
    shift: AliasShift


@dataclass(frozen=True)
class Endpoints:
    """Green: the endpoint the target version calls. Blue: the current version's, if different.

    ``model_name`` is the target version's ``MODEL_NAME`` (the front end serves
    ``/models/<model_name>/invocations``), None if it has none.
    """

    green: str
    blue: str | None
    model_name: str | None = None


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    """AppSpec keys are case-insensitive in practice (``Resources`` / ``resources``)."""
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and candidate.casefold() == folded:
            return value
    return None


def _version(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise HookFailedError(f"AppSpec {field} must be a version string, got {value!r}")
    return str(value)


def parse_appspec(content: str) -> AliasShift:
    """The single Lambda alias shift described by a JSON AppSpec.

    CloudFormation-initiated deployments always carry JSON. YAML AppSpecs are refused with a clear
    message: the hook runtime has no YAML parser, and guessing would be worse than failing.
    """
    try:
        spec = json.loads(content)
    except json.JSONDecodeError as exc:
        raise HookFailedError(
            f"AppSpec content is not JSON ({exc}); only JSON AppSpecs (as CloudFormation "
            "writes them) are supported"
        ) from None
    if not isinstance(spec, dict):
        raise HookFailedError("AppSpec content is not a JSON object")
    resources = _get(spec, "Resources")
    if not isinstance(resources, list):
        raise HookFailedError("AppSpec has no Resources list")

    functions: list[Mapping[str, Any]] = []
    for entry in resources:
        if not isinstance(entry, dict):
            raise HookFailedError(f"AppSpec resource entry is not an object: {entry!r}")
        for resource in entry.values():
            if isinstance(resource, dict) and _get(resource, "Type") == LAMBDA_FUNCTION_TYPE:
                properties = _get(resource, "Properties")
                if not isinstance(properties, dict):
                    raise HookFailedError("AppSpec Lambda resource has no Properties object")
                functions.append(properties)
    if len(functions) != 1:
        raise HookFailedError(
            f"AppSpec must describe exactly one {LAMBDA_FUNCTION_TYPE}, found {len(functions)}"
        )

    properties = functions[0]
    name = _get(properties, "Name")
    alias = _get(properties, "Alias")
    target = _version(_get(properties, "TargetVersion"), "TargetVersion")
    if not isinstance(name, str) or not name:
        raise HookFailedError("AppSpec Lambda resource has no Name")
    if not isinstance(alias, str) or not alias:
        raise HookFailedError("AppSpec Lambda resource has no Alias")
    if target is None:
        raise HookFailedError("AppSpec Lambda resource has no TargetVersion")
    return AliasShift(
        function_name=name,
        alias=alias,
        current_version=_version(_get(properties, "CurrentVersion"), "CurrentVersion"),
        target_version=target,
    )


def appspec_content(revision: Mapping[str, Any]) -> str:
    """The AppSpec text of an inline revision (``AppSpecContent`` or the older ``String``)."""
    revision_type = revision.get("revisionType")
    member = _INLINE_REVISION_MEMBERS.get(str(revision_type))
    if member is None:
        raise HookFailedError(
            f"deployment revision type {revision_type!r} is not supported; expected one of "
            f"{sorted(_INLINE_REVISION_MEMBERS)} (an inline AppSpec, as CloudFormation sends)"
        )
    content = (revision.get(member) or {}).get("content")
    if not isinstance(content, str) or not content.strip():
        raise HookFailedError(f"deployment revision {revision_type} carries no AppSpec content")
    return content


def read_deployment(codedeploy: BaseClient, deployment_id: str) -> Deployment:
    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    revision = info.get("revision")
    if not revision:
        raise HookFailedError(f"deployment {deployment_id} has no revision")
    create_time = info.get("createTime")
    if not isinstance(create_time, datetime):
        raise HookFailedError(f"deployment {deployment_id} has no createTime")
    shift = parse_appspec(appspec_content(revision))
    logger.info(
        "read deployment",
        extra={
            "frontend_function": shift.function_name,
            "alias": shift.alias,
            "current_version": shift.current_version,
            "target_version": shift.target_version,
            "create_time": create_time.isoformat(),
        },
    )
    return Deployment(deployment_id=deployment_id, create_time=create_time, shift=shift)


def version_environment(
    lambda_client: BaseClient, function_name: str, version: str
) -> dict[str, str]:
    """The environment variables of one published function version."""
    configuration = lambda_client.get_function_configuration(
        FunctionName=function_name, Qualifier=version
    )
    variables: dict[str, str] = (configuration.get("Environment") or {}).get("Variables") or {}
    return variables


def _endpoint(variables: Mapping[str, str], function_name: str, version: str) -> str:
    endpoint = variables.get(ENDPOINT_ENV_VAR)
    if not endpoint:
        raise HookFailedError(
            f"version {version} of {function_name} has no {ENDPOINT_ENV_VAR} environment variable"
        )
    return endpoint


def resolve_endpoints(lambda_client: BaseClient, shift: AliasShift) -> Endpoints:
    target = version_environment(lambda_client, shift.function_name, shift.target_version)
    green = _endpoint(target, shift.function_name, shift.target_version)
    blue: str | None = None
    if shift.current_version is not None and shift.current_version != shift.target_version:
        current = version_environment(lambda_client, shift.function_name, shift.current_version)
        blue = _endpoint(current, shift.function_name, shift.current_version)
        if blue == green:
            blue = None
    logger.info("resolved endpoints", extra={"green_endpoint": green, "blue_endpoint": blue})
    return Endpoints(green=green, blue=blue, model_name=target.get(MODEL_ENV_VAR) or None)


def reverse_shift_summary(shift: AliasShift, endpoints: Endpoints) -> str | None:
    """What both hooks report for a reverse shift, which they pass unchecked: the older version
    served all traffic minutes ago, and failing would leave the stack UPDATE_ROLLBACK_FAILED.
    None for a forward shift, which they check."""
    if not shift.is_reverse:
        return None
    return (
        f"reverse shift back to version {shift.target_version} (endpoint "
        f"{endpoints.green}): CloudFormation is rolling the stack back; passes unchecked"
    )
