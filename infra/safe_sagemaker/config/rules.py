"""The rules that need more than one field: each is checked once, here, whether the config comes
from a file (the loader) or is built in code (``EnvironmentConfig``, ``ServedModel``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from safe_sagemaker.api_rules import (
    web_acl_region,
)
from safe_sagemaker.config.base import (
    ENDPOINT_NAME_MAX_LENGTH,
    MARKETPLACE_REGISTRY_ACCOUNTS,
    _FieldError,
)
from safe_sagemaker.config.deployment import SAMPLE_REQUESTS_MAX_BYTES
from safe_sagemaker.config.model import DEFAULT_VARIANT_NAME, MAX_RESERVED_CONCURRENCY
from safe_sagemaker.config.network import MAX_VPC_SECURITY_GROUPS, MAX_VPC_SUBNETS
from safe_sagemaker.endpoint_update_policy import (
    EXCLUDED_FAMILIES,
    PolicyError,
)
from safe_sagemaker.instance_types import instance_family, is_burstable

if TYPE_CHECKING:
    from safe_sagemaker.config.environment import EnvironmentConfig
    from safe_sagemaker.config.model import ModelConfig


# Models one stack holds: each adds up to about 43 resources to the ~39 the environment
# shares, and CloudFormation accepts 500 a template.
MAX_MODELS_IN_ONE_STACK = 10


# With nested stacks the top-level stack still holds each model's API route, permissions,
# outputs and dashboard rows: at 50 models 356 resources and 893 KB, near CloudFormation's
# 1 MB a template.
MAX_MODELS_NESTED = 50


def check_model(env: EnvironmentConfig, model: ModelConfig) -> None:
    """The rules ``model`` must meet in ``env``: the config loader's, for a model served by
    code (``ServedModel``). Raises a ConfigError naming the field and the fix."""
    index = next((i for i, m in enumerate(env.models) if m.name == model.name), None)
    _check_model(env, model, f"models[{index}]" if index is not None else model.name)


def _check_environment(env: EnvironmentConfig) -> None:
    """Rules that need the whole environment: name lengths, uniqueness, production pinning."""
    _check_api(env)
    _check_model_count(env)
    _check_vpc(env)
    seen: set[str] = set()
    for index, model in enumerate(env.models):
        where = f"models[{index}]"
        if model.name in seen:
            raise _FieldError(where + ".name", f"duplicate model name {model.name!r}; rename one")
        seen.add(model.name)
        _check_model(env, model, where)
    reserved = [m.reserved_concurrency or 0 for m in env.models]
    if sum(reserved) > MAX_RESERVED_CONCURRENCY:
        index = max(range(len(reserved)), key=reserved.__getitem__)
        raise _FieldError(
            f"models[{index}].reserved_concurrency",
            f"the models' front ends reserve {sum(reserved)} concurrent executions together, "
            f"over the {MAX_RESERVED_CONCURRENCY} an account with Lambda's default limit "
            "(1000, of which 100 stay unreserved) can give; lower the largest",
        )


def _check_model(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    length = len(env.endpoint_name(model))
    if length > ENDPOINT_NAME_MAX_LENGTH:
        raise _FieldError(
            where + ".name",
            f"the endpoint name <env>-<model>-<fingerprint> would be {length} characters, "
            f"over SageMaker's {ENDPOINT_NAME_MAX_LENGTH}; shorten the model name by "
            f"{length - ENDPOINT_NAME_MAX_LENGTH} or more",
        )
    _check_model_hosting(model, where)
    _check_model_observability(env, model, where)
    _check_model_deployment(model, where)
    _check_guardrails(env, model, where)
    # A model package is pinned by its version number: the tag rule is for images.
    if env.production and model.image is not None and not model.image.is_pinned:
        raise _FieldError(
            where + ".image_uri",
            f"image {model.image_uri!r} is not pinned; a production environment needs a "
            "version tag or digest other than 'latest' (e.g. :v2.1.0 or @sha256:...)",
        )


def _check_model_count(env: EnvironmentConfig) -> None:
    count = len(env.models)
    if not env.nested_model_stacks and count > MAX_MODELS_IN_ONE_STACK:
        raise _FieldError(
            "models",
            f"{count} models do not fit one CloudFormation stack (at most "
            f"{MAX_MODELS_IN_ONE_STACK}: each adds about 43 resources, a template holds 500); "
            "set nested_model_stacks to true to give each model a nested stack, or split the "
            "models into two environments",
        )
    if count > MAX_MODELS_NESTED:
        raise _FieldError(
            "models",
            f"{count} models are more than one environment serves (at most {MAX_MODELS_NESTED}: "
            "the top-level stack holds every model's API route, outputs and dashboard rows); "
            "split the models into two environments",
        )


def _check_model_observability(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    if model.monitoring is not None and not model.data_capture.enabled:
        raise _FieldError(
            where + ".monitoring",
            "Model Monitor analyses the endpoint's captured traffic; enable data_capture or "
            "remove monitoring",
        )
    request = model.canary_request
    if request is not None and request.content_type not in model.allowed_content_types:
        raise _FieldError(
            where + ".canary_request.content_type",
            f"{request.content_type!r} is not in the model's allowed_content_types "
            f"{model.allowed_content_types}, so the front end would answer 415; add it there or "
            "send another content type",
        )


def _check_model_deployment(model: ModelConfig, where: str) -> None:
    for number, sample in enumerate(model.pre_traffic_samples):
        if sample.content_type not in model.allowed_content_types:
            location = (
                f"{where}.deployment.sample_requests[{number}].content_type"
                if model.deployment.sample_requests
                else f"{where}.canary_request.content_type"
            )
            raise _FieldError(
                location,
                f"the front end answers {sample.content_type} with 415: it is not among "
                f"allowed_content_types {model.allowed_content_types}; add it there or send "
                "another content type",
            )
    size = len(json.dumps([s.hook_json() for s in model.pre_traffic_samples]).encode())
    if size > SAMPLE_REQUESTS_MAX_BYTES:
        raise _FieldError(
            where + ".deployment.sample_requests",
            f"the sample requests take {size} bytes as JSON, over the "
            f"{SAMPLE_REQUESTS_MAX_BYTES} the pre-traffic hook's environment can carry; send "
            "fewer or smaller samples",
        )


def _check_guardrails(env: EnvironmentConfig, model: ModelConfig, where: str) -> None:
    """SageMaker's documented exclusions of deployment guardrails, as config errors: where it
    would silently update all at once without a bake, or refuse the update."""
    settings = env.guardrails_for(model)
    block = where + ".deployment.guardrails"
    if settings is None:
        if model.deployment.guardrails is not None:
            raise _FieldError(
                block,
                "guardrails apply to strategy endpoint-guardrails only; set "
                "deployment.strategy to endpoint-guardrails or remove guardrails",
            )
        return
    fix = "or set deployment.strategy to frontend-alias, which shifts to a new endpoint"
    if model.variant_name != DEFAULT_VARIANT_NAME:
        raise _FieldError(
            where + ".variant_name",
            "endpoint-guardrails keeps the variant named 'primary': SageMaker updates an "
            "endpoint in place only when the new config keeps the variant's name, and the config "
            f"cannot see the deployed one to refuse a change; remove variant_name, {fix}",
        )
    if model.serverless is None and instance_family(model.instance_type) in EXCLUDED_FAMILIES:
        raise _FieldError(
            where + ".instance_type",
            f"SageMaker's deployment guardrails do not support {model.instance_type} "
            "(Inferentia 1): it would update the endpoint all at once with no bake; choose "
            f"another family (e.g. ml.inf2), {fix}",
        )
    image = model.image
    if image is not None and image.ecr_account in MARKETPLACE_REGISTRY_ACCOUNTS:
        raise _FieldError(
            where + ".image_uri",
            "this is an AWS Marketplace container, which SageMaker's deployment guardrails do "
            f"not support (it would update all at once with no bake); {fix}",
        )
    scaling = model.autoscaling
    smallest = scaling.min_capacity if scaling else model.initial_instance_count
    largest = scaling.max_capacity if scaling else model.initial_instance_count
    try:
        settings.policy().check_fleet(
            smallest=smallest, largest=largest, serverless=model.serverless is not None
        )
    except PolicyError as error:
        raise _FieldError(f"{block}.{error.field}", str(error)) from None


def _check_api(env: EnvironmentConfig) -> None:
    api, plan = env.api, env.api.usage_plan
    if api.waf_web_acl_arn is not None and api.waf.enabled:
        raise _FieldError(
            "api.waf.enabled",
            "waf_web_acl_arn already names the web ACL of the stage; remove waf.enabled, or "
            "remove waf_web_acl_arn to have the stack create one",
        )
    if plan is not None and api.auth != "api_key":
        raise _FieldError(
            "api.usage_plan", "usage_plan limits API keys; set auth to 'api_key' or remove it"
        )
    if plan is not None and (
        plan.rate_limit > api.throttling_rate_limit or plan.burst_limit > api.throttling_burst_limit
    ):
        raise _FieldError(
            "api.usage_plan",
            f"a key may send {plan.rate_limit}/s (burst {plan.burst_limit}), above the stage's "
            f"{api.throttling_rate_limit}/s (burst {api.throttling_burst_limit}) that caps every "
            "key; lower usage_plan or raise throttling_rate_limit/throttling_burst_limit",
        )
    arn = api.waf_web_acl_arn
    if arn is not None and env.region is not None and web_acl_region(arn) != env.region:
        raise _FieldError(
            "api.waf_web_acl_arn",
            f"the web ACL is in {web_acl_region(arn)} but the environment deploys to "
            f"{env.region}; a regional web ACL protects only APIs of its own region",
        )


def _check_vpc(env: EnvironmentConfig) -> None:
    """SageMaker's and Lambda's VpcConfig: 1-16 subnets, 1-5 security groups (both required).
    A production environment needs two subnets: SageMaker spreads an endpoint's instances over
    the subnets' Availability Zones, and one subnet puts the whole fleet in one zone."""
    vpc = env.vpc
    if vpc is None:
        return
    if not vpc.subnet_ids:
        raise _FieldError(
            "vpc.subnet_ids",
            "a VPC config needs the subnets the models and functions run in; list at least "
            "one subnet id (two or more in different Availability Zones), or remove vpc",
        )
    if not vpc.security_group_ids:
        raise _FieldError(
            "vpc.security_group_ids",
            "subnets without security groups: SageMaker and Lambda need at least one for the "
            "network interfaces they create in the subnets; list the security group ids",
        )
    for field, ids, limit in (
        ("subnet_ids", vpc.subnet_ids, MAX_VPC_SUBNETS),
        ("security_group_ids", vpc.security_group_ids, MAX_VPC_SECURITY_GROUPS),
    ):
        if len(ids) > limit:
            what = field.removesuffix("_ids").replace("_", " ")
            raise _FieldError(
                f"vpc.{field}",
                f"{len(ids)} {what}s, over the {limit} SageMaker and Lambda take; list fewer",
            )
    if env.production and len(vpc.subnet_ids) < 2:
        raise _FieldError(
            "vpc.subnet_ids",
            "a production environment needs at least two subnets in different Availability "
            "Zones, so that SageMaker can spread an endpoint's instances over them; add one",
        )
    if vpc.create_endpoints and not vpc.route_table_ids:
        raise _FieldError(
            "vpc.route_table_ids",
            "create_endpoints adds an S3 gateway endpoint, which needs the subnets' route "
            "tables; list their ids, or set create_endpoints to false if the VPC already "
            "reaches S3 and the AWS APIs",
        )
    if not vpc.create_endpoints and vpc.route_table_ids:
        raise _FieldError(
            "vpc.route_table_ids",
            "route tables are used only for the S3 gateway endpoint that create_endpoints "
            "adds; remove them or set create_endpoints to true",
        )


def _check_serverless(model: ModelConfig, where: str) -> None:
    """SageMaker's documented Serverless Inference exclusions that the config can express.
    (Multiple variants, VPC, network isolation and volume KMS keys it cannot: the endpoint
    construct never sets them for serverless.)"""
    if model.serverless is None:
        if model.alarms.model_setup_time_p99_ms is not None:
            raise _FieldError(
                where + ".alarms.model_setup_time_p99_ms",
                "ModelSetupTime is a serverless metric; remove the threshold or add serverless",
            )
        return
    for field in ("instance_type", "initial_instance_count"):
        if field in model.model_fields_set:
            raise _FieldError(
                f"{where}.{field}",
                f"a serverless endpoint has no instances, so {field} would be ignored; remove "
                f"it, or remove serverless to host on instances",
            )
    if model.autoscaling is not None:
        raise _FieldError(
            where + ".autoscaling",
            "serverless endpoints scale on their own up to serverless.max_concurrency; "
            "instance-count target tracking does not apply (autoscaling of provisioned "
            "concurrency is not supported here); remove autoscaling or serverless",
        )
    if model.data_capture.enabled:
        raise _FieldError(
            where + ".data_capture.enabled",
            "SageMaker cannot capture data from a serverless endpoint; set enabled to false or "
            "host the model on instances",
        )
    if model.monitoring is not None:
        raise _FieldError(
            where + ".monitoring",
            "Model Monitor does not support serverless endpoints; remove monitoring or host the "
            "model on instances",
        )
    image = model.image
    if image is not None and image.ecr_account is None:
        raise _FieldError(
            where + ".image_uri",
            f"serverless endpoints cannot pull from a private registry ({image.registry}); "
            "push the image to Amazon ECR or host the model on instances",
        )


def _check_model_hosting(model: ModelConfig, where: str) -> None:
    _check_serverless(model, where)
    scaling = model.autoscaling
    if scaling is None:
        return
    if is_burstable(model.instance_type):
        raise _FieldError(
            where + ".autoscaling",
            f"burstable instance type {model.instance_type} cannot autoscale; remove autoscaling "
            "or choose a non-burstable instance type such as ml.m5.large",
        )
    if scaling.max_capacity < scaling.min_capacity:
        raise _FieldError(
            where + ".autoscaling.max_capacity",
            f"max_capacity ({scaling.max_capacity}) is below min_capacity "
            f"({scaling.min_capacity}); raise max_capacity or lower min_capacity",
        )
    if not scaling.min_capacity <= model.initial_instance_count <= scaling.max_capacity:
        raise _FieldError(
            where + ".initial_instance_count",
            f"initial_instance_count ({model.initial_instance_count}) is outside the autoscaling "
            f"range [{scaling.min_capacity}, {scaling.max_capacity}]; set it between "
            "min_capacity and max_capacity",
        )
