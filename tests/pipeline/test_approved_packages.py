"""The approved model package version becomes the model the stages deploy: the context's rules
(no synth), then the synthesized stage and top-level templates with and without the context."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import approved_packages
from safe_sagemaker.config import ConfigError, EnvironmentConfig, load_environments
from safe_sagemaker.pipeline.approved_packages import (
    deliver_approved_packages,
    parse_packages_context,
)
from safe_sagemaker.pipeline.config import EXAMPLE_FILE, PipelineConfig, load_pipeline_config
from tests.pipeline.conftest import (
    APPROVED_PACKAGE,
    PINNED_PACKAGE,
    REGISTRY_MODEL,
    PipelineSynth,
)

ENVIRONMENTS = load_environments()
DEV = next(env for env in ENVIRONMENTS if env.name == "dev")
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/{}"


def model(env: EnvironmentConfig, name: str) -> Any:
    (found,) = [m for m in env.models if m.name == name]
    return found


def deliver(arn: str, **options: Any) -> list[EnvironmentConfig]:
    return deliver_approved_packages(ENVIRONMENTS, {REGISTRY_MODEL: arn}, **options)


def test_both_context_forms_parse() -> None:
    assert parse_packages_context(None) == {}
    assert parse_packages_context("") == {}
    assert parse_packages_context(f" churn-scorer = {APPROVED_PACKAGE} ,") == {
        REGISTRY_MODEL: APPROVED_PACKAGE
    }
    # cdk.context.json may hold an object instead of the -c string.
    assert parse_packages_context({REGISTRY_MODEL: APPROVED_PACKAGE}) == {
        REGISTRY_MODEL: APPROVED_PACKAGE
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("churn-scorer", "'churn-scorer' is not group=arn; pass group=arn,group=arn"),
        (
            "churn-scorer=None",
            "group 'churn-scorer': 'None' is not a versioned model package ARN; use arn:aws:",
        ),
        (
            "churn-scorer=arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn-scorer",
            "is not a versioned model package ARN",
        ),
        (
            f"fraud-detector={APPROVED_PACKAGE}",
            f"{APPROVED_PACKAGE!r} is a version of group 'churn-scorer', not of 'fraud-detector'; "
            f"pass churn-scorer={APPROVED_PACKAGE}",
        ),
        (
            f"churn-scorer={APPROVED_PACKAGE},churn-scorer={PINNED_PACKAGE}",
            "group 'churn-scorer' is named twice; give one version per group",
        ),
        (["churn-scorer"], "is neither group=arn,... nor an object of group: arn"),
    ],
)
def test_a_malformed_context_is_one_clear_error(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_packages_context(value)
    assert str(error.value).startswith("context approved_model_packages: ")
    assert message in str(error.value)


def test_the_approved_version_replaces_the_pinned_one_of_its_group_only() -> None:
    delivered = {env.name: env for env in deliver(PACKAGE.format(4))}
    served = model(delivered["dev"], REGISTRY_MODEL)
    pinned = model(DEV, REGISTRY_MODEL)
    assert pinned.model_package_arn == PACKAGE.format(3)
    assert served.model_package_arn == PACKAGE.format(4)
    assert served.fingerprint() != pinned.fingerprint()
    assert delivered["dev"].endpoint_name(served) != DEV.endpoint_name(pinned)
    # Everything else about the model, and every other model and environment, is as pinned.
    assert served.model_dump(exclude={"model_package_arn"}) == pinned.model_dump(
        exclude={"model_package_arn"}
    )
    assert served.model_fields_set == pinned.model_fields_set
    assert model(delivered["dev"], "fraud-detector") is model(DEV, "fraud-detector")
    assert delivered["prod"] is next(env for env in ENVIRONMENTS if env.name == "prod")


def test_the_pinned_version_again_changes_nothing() -> None:
    assert deliver(PACKAGE.format(3)) == ENVIRONMENTS
    assert deliver_approved_packages(ENVIRONMENTS, {}) == ENVIRONMENTS


@pytest.mark.parametrize(
    ("arn", "options", "message"),
    [
        (
            PACKAGE.format(2),
            {},
            "version 2 of group 'churn-scorer' is older than version 3 that environment 'dev' "
            "model 'churn-scorer' pins; approve version 3 or later in the registry, or, to roll "
            "back on purpose, pin version 2 in infra/environments/dev.json",
        ),
        (
            PACKAGE.format(4).replace("123456789012", "210987654321"),
            {},
            "is in the registry of 210987654321/us-east-1, but environment 'dev' model "
            "'churn-scorer' pins a package of 123456789012/us-east-1; resolve versions in the "
            "registry the environment file names",
        ),
        (
            PACKAGE.format(4).replace("us-east-1", "eu-west-1"),
            {},
            "is in the registry of 123456789012/eu-west-1",
        ),
        (
            PACKAGE.format(4),
            {"groups": ["fraud-detector"]},
            "group 'churn-scorer' is not in the pipeline's model_registry.model_package_groups "
            "['fraud-detector']; add it there or drop it from the context",
        ),
    ],
)
def test_what_the_context_may_not_do(arn: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        deliver(arn, **options)
    assert str(error.value).startswith("context approved_model_packages: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_group_no_model_serves_is_refused() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/9"
    with pytest.raises(ConfigError) as error:
        deliver_approved_packages(ENVIRONMENTS, {"fraud-detector": arn})
    assert str(error.value) == (
        "context approved_model_packages: no model serves group 'fraud-detector'; pin a version "
        "of it in a model's model_package_arn (infra/environments/<name>.json) or drop it from "
        "the context"
    )


def test_a_pipeline_without_registry_refuses_the_context() -> None:
    config = load_pipeline_config(EXAMPLE_FILE, ENVIRONMENTS)
    without = PipelineConfig.model_validate(
        {**config.model_dump(exclude={"model_registry"}), "model_registry": None}
    )
    assert approved_packages(f"{REGISTRY_MODEL}={APPROVED_PACKAGE}", config) == {
        REGISTRY_MODEL: APPROVED_PACKAGE
    }
    assert approved_packages("", without) == {}
    with pytest.raises(ConfigError, match="the pipeline config has no model_registry; add one"):
        approved_packages(f"{REGISTRY_MODEL}={APPROVED_PACKAGE}", without)
    # No pipeline at all: a team may still deploy the approved version by hand.
    assert approved_packages(f"{REGISTRY_MODEL}={APPROVED_PACKAGE}", None) == {
        REGISTRY_MODEL: APPROVED_PACKAGE
    }


# --- synthesized: the example pipeline, then the pipeline's synth after an approval ----------


def _endpoints(template: dict[str, Any]) -> dict[str, str]:
    """Endpoint name -> the model package it serves (or "" for an image model)."""
    resources = template["Resources"]
    configs = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SageMaker::EndpointConfig"
    }
    models = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SageMaker::Model"
    }
    served = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::SageMaker::Endpoint":
            continue
        properties = resource["Properties"]
        config = configs[properties["EndpointConfigName"]["Fn::GetAtt"][0]]
        (variant,) = config["ProductionVariants"]
        sagemaker_model = models[variant["ModelName"]["Fn::GetAtt"][0]]
        # A package is the model's only container; an image model has a primary container.
        (container,) = sagemaker_model.get("Containers", [sagemaker_model.get("PrimaryContainer")])
        served[properties["EndpointName"]] = container.get("ModelPackageName", "")
    return served


def _stage_template(synth: PipelineSynth, stage: str) -> dict[str, Any]:
    (key,) = [k for k in synth.stage_templates if k.startswith(f"{stage}/")]
    return synth.stage_templates[key]


def _frontend_endpoints(template: dict[str, Any]) -> set[str]:
    """The endpoint names the front-end functions' configuration names (their versions)."""
    names = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if "ENDPOINT_NAME" in variables:
                names.add(variables["ENDPOINT_NAME"])
    return names


def test_without_the_context_the_stage_serves_the_pinned_version(
    pipeline_synth: PipelineSynth,
) -> None:
    served = _endpoints(_stage_template(pipeline_synth, "Dev"))
    pinned = DEV.endpoint_name(model(DEV, REGISTRY_MODEL))
    assert served[pinned] == PINNED_PACKAGE
    assert pinned in _frontend_endpoints(_stage_template(pipeline_synth, "Dev"))
    assert APPROVED_PACKAGE not in json.dumps(pipeline_synth.stage_templates)


@pytest.mark.parametrize("stage", ["Dev", "Prod"])
def test_with_the_context_every_stage_serves_the_approved_version(
    pipeline_synth: PipelineSynth, approved_synth: PipelineSynth, stage: str
) -> None:
    template = _stage_template(approved_synth, stage)
    served = _endpoints(template)
    (registry_endpoint,) = [name for name in served if f"-{REGISTRY_MODEL}-" in name]
    assert served[registry_endpoint] == APPROVED_PACKAGE
    assert PINNED_PACKAGE not in json.dumps(template)
    # A new endpoint name, so a new front-end Lambda version for CodeDeploy to shift to.
    pinned_name = f"{stage.lower()}-{REGISTRY_MODEL}-{model(DEV, REGISTRY_MODEL).fingerprint()}"
    assert registry_endpoint != pinned_name
    assert registry_endpoint in _frontend_endpoints(template)
    assert pinned_name not in _frontend_endpoints(template)
    # The models of other sources keep their endpoints.
    others = {name for name in served if name != registry_endpoint}
    assert others <= set(_endpoints(pipeline_synth.templates[f"{stage}Stack"]))


def test_top_level_stacks_deploy_what_the_stages_deploy(approved_synth: PipelineSynth) -> None:
    for stage in ("Dev", "Prod"):
        top = _endpoints(approved_synth.templates[f"{stage}Stack"])
        assert top == _endpoints(_stage_template(approved_synth, stage))
        assert APPROVED_PACKAGE in top.values()


def test_the_approval_names_the_approved_version(approved_synth: PipelineSynth) -> None:
    (pipeline,) = approved_synth.resources("AWS::CodePipeline::Pipeline").values()
    (approval,) = [
        action
        for stage in pipeline["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["Name"] == "Approve"
    ]
    text = approval["Configuration"]["CustomData"]
    served = _endpoints(_stage_template(approved_synth, "Prod"))
    (registry_endpoint,) = [name for name, arn in served.items() if arn == APPROVED_PACKAGE]
    assert f"{REGISTRY_MODEL} -> {registry_endpoint}" in text
    assert text.endswith(" Model Registry versions: churn-scorer 4 (newest approved).")
    assert len(text) + 600 <= 1000  # room for the change summary within CodePipeline's limit


def _warnings(synth: PipelineSynth, stack_name: str) -> list[str]:
    from aws_cdk.cx_api import SynthesisMessageLevel

    artifact = synth.assembly.get_stack_by_name(stack_name)
    return [
        str(m.entry.data) for m in artifact.messages if m.level == SynthesisMessageLevel.WARNING
    ]


def test_a_local_synth_warns_where_it_may_roll_back_the_pipeline(
    pipeline_synth: PipelineSynth, approved_synth: PipelineSynth
) -> None:
    """Without the context a hand deploy of DevStack serves the pinned version, which may be
    older than what the pipeline delivered: cdk synth and cdk deploy print why and the fix."""
    (warning,) = _warnings(pipeline_synth, "DevStack")
    assert warning.startswith(
        "DevStack serves churn-scorer version 3 as infra/environments/dev.json pins it, but the "
        "pipeline deploys the newest approved version of each model_registry group"
    )
    assert "pass -c approved_model_packages=<group>=<arn>" in warning
    assert _warnings(pipeline_synth, "ProdStack") == []  # no model of the group
    # The pipeline's synth always sets the context: nothing to warn about there.
    assert _warnings(approved_synth, "DevStack") == _warnings(approved_synth, "ProdStack") == []
