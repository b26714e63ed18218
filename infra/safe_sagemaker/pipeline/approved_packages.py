"""The model package versions a synth deploys: the newest approved version of a Model Registry
group (context ``approved_model_packages``) in place of the version an environment file pins.

The pipeline's synth step resolves the newest approved version of each configured group and
passes ``-c approved_model_packages=group=arn,...``; a plain local synth has no such context (or
takes it from ``cdk.context.json``) and deploys the versions the environment files pin. The
context applies to every environment the app builds, the top-level stacks as well as the
pipeline's stages, so ``cdk deploy ProdStack`` with the same context deploys exactly what the
pipeline's Prod stage deploys.

A version replaces only the ``model_package_arn`` of models whose pinned package is of the same
group, so its fingerprint, endpoint name and front-end Lambda version change and the blue/green
rollout runs; every other model is untouched. What the context may not do (each is a config
error naming the fix): name a group no model serves, give a malformed ARN or one of another
group, move a model to another account's or region's registry, or go back to a version older
than the pinned one (a rollback is a change of the environment file, made on purpose).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from safe_sagemaker.config import (
    ConfigError,
    EnvironmentConfig,
    ModelConfig,
    parse_model_package_arn,
)

PACKAGES_CONTEXT = "approved_model_packages"


def _error(message: str) -> ConfigError:
    return ConfigError(f"context {PACKAGES_CONTEXT}: {message}")


def parse_packages_context(value: object) -> dict[str, str]:
    """``group=arn,group=arn`` as ``-c`` passes it, or a JSON object ``{group: arn}`` (how
    ``cdk.context.json`` may hold it), as ``{group: arn}``. Unset or empty: no versions."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, str):
        items = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            group, separator, arn = item.partition("=")
            if not separator:
                raise _error(f"{item!r} is not group=arn; pass group=arn,group=arn")
            items.append((group.strip(), arn.strip()))
    else:
        raise _error(f"{value!r} is neither group=arn,... nor an object of group: arn")
    packages: dict[str, str] = {}
    for group, arn in items:
        if not isinstance(group, str) or not isinstance(arn, str):
            raise _error(f"{group!r}: {arn!r} must map a group name to an ARN string")
        if group in packages:
            raise _error(f"group {group!r} is named twice; give one version per group")
        try:
            package = parse_model_package_arn(arn)
        except ValueError as error:
            raise _error(f"group {group!r}: {error}") from None
        if package["group"] != group:
            raise _error(
                f"{arn!r} is a version of group {package['group']!r}, not of {group!r}; "
                f"pass {package['group']}={arn}"
            )
        packages[group] = arn
    return packages


def deliver_approved_packages(
    environments: Sequence[EnvironmentConfig],
    approved: Mapping[str, str],
    *,
    groups: Collection[str] | None = None,
) -> list[EnvironmentConfig]:
    """``environments`` with each model of an ``approved`` group serving the approved version.

    :param groups: the groups the pipeline's model registry names; a version of any other group
        is refused. Default: any group some model serves (no pipeline config)."""
    for group in approved:
        if groups is not None and group not in groups:
            raise _error(
                f"group {group!r} is not in the pipeline's model_registry.model_package_groups "
                f"{sorted(groups)}; add it there or drop it from the context"
            )
        if not any(_group_of(model) == group for env in environments for model in env.models):
            raise _error(
                f"no model serves group {group!r}; pin a version of it in a model's "
                "model_package_arn (infra/environments/<name>.json) or drop it from the context"
            )
    return [_delivered(env, approved) for env in environments]


def registry_models(
    env: EnvironmentConfig, groups: Collection[str]
) -> list[tuple[ModelConfig, dict[str, str]]]:
    """The models of ``env`` that serve a package of ``groups``, each with its parsed ARN
    (region, account, group, version)."""
    found = []
    for model in env.models:
        if model.model_package_arn is not None:
            package = parse_model_package_arn(model.model_package_arn)
            if package["group"] in groups:
                found.append((model, package))
    return found


def pinned_versions_warning(env: EnvironmentConfig, groups: Collection[str]) -> str | None:
    """Why a synth without the context may roll back what the pipeline delivered to ``env``,
    or None when ``env`` serves no model of ``groups``."""
    models = registry_models(env, groups)
    if not models:
        return None
    pins = ", ".join(f"{model.name} version {package['version']}" for model, package in models)
    return (
        f"{env.stack_name} serves {pins} as infra/environments/{env.name}.json pins it, but the "
        "pipeline deploys the newest approved version of each model_registry group: deployed "
        f"by hand, this synth may roll back what the pipeline delivered; pass "
        f"-c {PACKAGES_CONTEXT}=<group>=<arn> (the pipeline's Build step prints it) or pin that "
        "version in the environment file"
    )


def _group_of(model: ModelConfig) -> str | None:
    if model.model_package_arn is None:
        return None
    return parse_model_package_arn(model.model_package_arn)["group"]


def _delivered(env: EnvironmentConfig, approved: Mapping[str, str]) -> EnvironmentConfig:
    models = [_approved_model(env, model, approved) for model in env.models]
    if all(new is old for new, old in zip(models, env.models, strict=True)):
        return env
    # model_copy keeps what the environment file set (the serverless checks read it); the
    # only changed field, the ARN, was validated above, and the endpoint name keeps its length.
    return env.model_copy(update={"models": models})


def _approved_model(
    env: EnvironmentConfig, model: ModelConfig, approved: Mapping[str, str]
) -> ModelConfig:
    group = _group_of(model)
    if group is None or group not in approved or approved[group] == model.model_package_arn:
        return model
    assert model.model_package_arn is not None
    pinned = parse_model_package_arn(model.model_package_arn)
    new = parse_model_package_arn(approved[group])
    where = f"environment {env.name!r} model {model.name!r}"
    fix_file = f"infra/environments/{env.name}.json"
    if (new["account"], new["region"]) != (pinned["account"], pinned["region"]):
        raise _error(
            f"{approved[group]} is in the registry of {new['account']}/{new['region']}, but "
            f"{where} pins a package of {pinned['account']}/{pinned['region']}; resolve versions "
            f"in the registry the environment file names, or pin the new registry's version in "
            f"{fix_file}"
        )
    if int(new["version"]) < int(pinned["version"]):
        raise _error(
            f"version {new['version']} of group {group!r} is older than version "
            f"{pinned['version']} that {where} pins; approve version {pinned['version']} or "
            f"later in the registry, or, to roll back on purpose, pin version {new['version']} "
            f"in {fix_file}"
        )
    return model.model_copy(update={"model_package_arn": approved[group]})
