"""Two-version synth: what ONE ``cdk deploy`` of a new model version does to ProdStack.

ProdStack is synthesized with the repository's prod config (version A), then with only one
model's ``model_data_url`` changed (version B). AWS's resource schemas (as cfn-lint ships them)
decide what B replaces: exactly that model's Model, EndpointConfig and Endpoint (green beside
blue), its autoscaling target and policy, a new front-end Lambda Version, to which the alias
then points, the rollback alarms (named after that version: fresh per deployment) and a new
execution role (blue keeps its own until cleanup). The endpoint's log group (a custom resource)
is updated to green's name, which its handler answers as the new physical id. The other model,
the shared resources (API, alerts topic, keys, layers) and everything else stay byte-for-byte
the same.

Both synths run in this process (no ``cdk`` subprocess) with the CLI's context from cdk.json,
so feature flags and ``aws:cdk:path`` metadata match ``cdk synth``: version A is the session's
app, version B the session's ``retrained_prod`` (which the preview's tests share).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from safe_sagemaker.cfn_replacements import PATH_METADATA, Plan, plan
from safe_sagemaker.config import EnvironmentConfig, load_environments
from tests.conftest import Synthesized
from tests.support.environments import with_new_model_data

PROD = next(env for env in load_environments() if env.name == "prod")
# frontend-alias models: a new version is a new endpoint and a CodeDeploy shift.
MODELS = [model.name for model in PROD.models if not PROD.endpoint_native(model)]
# endpoint-guardrails models: SageMaker updates one endpoint in place.
NATIVE_MODELS = [model.name for model in PROD.models if PROD.endpoint_native(model)]
STACK = PROD.stack_name

# What a new model version must replace, by CloudFormation type and construct path below the
# model's ServedModel.
EXPECTED_REPLACEMENTS = {
    ("AWS::SageMaker::Model", "Endpoint/Model"),
    ("AWS::SageMaker::EndpointConfig", "Endpoint/EndpointConfig"),
    ("AWS::SageMaker::Endpoint", "Endpoint/Resource"),
    ("AWS::ApplicationAutoScaling::ScalableTarget", "Autoscaling/Target/Resource"),
    (
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "Autoscaling/Target/InvocationsPerInstance/Resource",
    ),
    ("AWS::Lambda::Version", "Frontend/Function/Resource/CurrentVersion/Resource"),
    # Named after the new front-end version: fresh alarms (INSUFFICIENT_DATA) per deployment.
    ("AWS::CloudWatch::Alarm", "RollbackAlarms/Endpoint5XXRatio/Resource"),
    ("AWS::CloudWatch::Alarm", "RollbackAlarms/FrontendErrorRatio/Resource"),
    ("AWS::CloudWatch::Alarm", "RollbackAlarms/ModelLatencyP99/Resource"),
}
# Model Monitor watches the live endpoint by name: a monitored model's job definition,
# schedule and findings rule follow green (and go away with it on a rollback). The rule is
# named after the endpoint, so blue's findings still reach the alerts until cleanup.
MONITOR_REPLACEMENTS = {
    ("AWS::SageMaker::DataQualityJobDefinition", "Monitor/JobDefinition"),
    ("AWS::SageMaker::MonitoringSchedule", "Monitor/Resource"),
    ("AWS::Events::Rule", "Monitor/FindingsRule/Resource"),
}


@pytest.fixture(scope="module")
def version_a(synthesized: Synthesized) -> dict[str, Any]:
    """The session's ProdStack: the same template as a synth of it alone (cdk-nag's checks
    change no template)."""
    return synthesized.templates[STACK]


def new_model_version(
    changed: str, version_a: dict[str, Any], retrained_prod: Callable[[str], dict[str, Any]]
) -> tuple[str, EnvironmentConfig, dict[str, Any], Plan]:
    """ProdStack with ``changed``'s artifact moved, and what CloudFormation would do."""
    config_b = with_new_model_data(PROD, changed)
    version_b = retrained_prod(changed)
    return changed, config_b, version_b, plan(version_a, version_b)


@pytest.fixture(scope="module", params=MODELS)
def rollout(
    request: pytest.FixtureRequest,
    version_a: dict[str, Any],
    retrained_prod: Callable[[str], dict[str, Any]],
) -> tuple[str, EnvironmentConfig, dict[str, Any], Plan]:
    return new_model_version(request.param, version_a, retrained_prod)


def construct_path(template: dict[str, Any], logical_id: str) -> str:
    path: str = template["Resources"][logical_id]["Metadata"][PATH_METADATA]
    return path


def test_only_the_changed_models_fingerprint_moves() -> None:
    assert MODELS and NATIVE_MODELS  # the example environment has both strategies
    for name in MODELS + NATIVE_MODELS:
        config_b = with_new_model_data(PROD, name)
        for a, b in zip(PROD.models, config_b.models, strict=True):
            if a.name == name:
                assert b.fingerprint() != a.fingerprint()
                # Under endpoint-guardrails the endpoint keeps its name.
                renamed = PROD.endpoint_name(a) != config_b.endpoint_name(b)
                assert renamed != PROD.endpoint_native(a)
            else:
                assert b == a


def test_new_version_replaces_exactly_the_served_model(
    version_a: dict[str, Any],
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    changed, config_b, version_b, result = rollout
    prefix = f"{STACK}/{changed}/"
    replaced = set()
    for logical_id in result.replaced:
        path = construct_path(version_b, logical_id)
        assert path.startswith(prefix), path
        replaced.add((version_b["Resources"][logical_id]["Type"], path.removeprefix(prefix)))
    monitored = next(m for m in config_b.models if m.name == changed).monitoring is not None
    assert replaced == EXPECTED_REPLACEMENTS | (MONITOR_REPLACEMENTS if monitored else set())
    # The execution role (and a monitor's role) belongs to one endpoint: green gets new ones,
    # blue keeps its own (and their artifact and capture permissions) until cleanup.
    model_a = next(m for m in PROD.models if m.name == changed)
    model_b = next(m for m in config_b.models if m.name == changed)
    assert {construct_path(version_b, i).removeprefix(prefix) for i in result.added} == (
        per_endpoint_role_paths(config_b.endpoint_name(model_b), monitored)
    )
    assert {construct_path(version_a, i).removeprefix(prefix) for i in result.removed} == (
        per_endpoint_role_paths(PROD.endpoint_name(model_a), monitored)
    )


def per_endpoint_role_paths(endpoint_name: str, monitored: bool) -> set[str]:
    roles = [f"Endpoint/ExecutionRole-{endpoint_name}"]
    if monitored:
        roles.append(f"Monitor/Role-{endpoint_name}")
    return {f"{role}/{part}" for role in roles for part in ("Resource", "DefaultPolicy/Resource")}


def test_nothing_outside_the_changed_model_changes_at_all(
    version_a: dict[str, Any],
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """The other model, the API, the alerts topic, keys, layers: byte-for-byte the same. A
    stack-wide view that names the model's live endpoint (the dashboard) may follow it to green,
    in place, and change in nothing else."""
    assert_nothing_outside_changes(version_a, *rollout)


def assert_nothing_outside_changes(
    version_a: dict[str, Any],
    changed: str,
    config_b: EnvironmentConfig,
    version_b: dict[str, Any],
    result: Plan,
) -> None:
    prefix = f"{STACK}/{changed}/"
    outside = {
        logical_id
        for logical_id in version_b["Resources"]
        if not construct_path(version_b, logical_id).startswith(prefix)
    }
    others = [model.name for model in PROD.models if model.name != changed]
    assert others and all(
        any(construct_path(version_b, k).startswith(f"{STACK}/{o}/") for k in outside)
        for o in others
    )
    assert outside & (result.replaced | result.added) == set()
    model_a = next(m for m in PROD.models if m.name == changed)
    model_b = next(m for m in config_b.models if m.name == changed)
    follow_green = {
        PROD.endpoint_name(model_a): config_b.endpoint_name(model_b),
        model_a.fingerprint(): model_b.fingerprint(),
    }
    for logical_id in sorted(outside):
        before = json.dumps(version_a["Resources"][logical_id])
        after = json.dumps(version_b["Resources"][logical_id])
        if before == after:
            continue
        path = construct_path(version_b, logical_id)
        assert not path.startswith(tuple(f"{STACK}/{o}/" for o in others)), path
        for old, new in follow_green.items():
            before = before.replace(old, new)
        assert before == after, f"{path} changes in more than the live endpoint's name"


def test_green_is_created_beside_blue_and_the_alias_moves_to_the_new_version(
    version_a: dict[str, Any],
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    changed, config_b, version_b, result = rollout
    model_a = next(m for m in PROD.models if m.name == changed)
    model_b = next(m for m in config_b.models if m.name == changed)
    blue, green = PROD.endpoint_name(model_a), config_b.endpoint_name(model_b)

    def by_path(template: dict[str, Any], suffix: str) -> tuple[str, dict[str, Any]]:
        (found,) = [
            (k, v)
            for k, v in template["Resources"].items()
            if v["Metadata"][PATH_METADATA] == f"{STACK}/{changed}/{suffix}"
        ]
        return found

    endpoint_id, endpoint_b = by_path(version_b, "Endpoint/Resource")
    _, endpoint_a = by_path(version_a, "Endpoint/Resource")
    assert (endpoint_a["Properties"]["EndpointName"], endpoint_b["Properties"]["EndpointName"]) == (
        blue,
        green,
    )
    assert endpoint_id in result.replaced  # same logical id, new physical endpoint: blue stays

    function_id, function_b = by_path(version_b, "Frontend/Function/Resource/Resource")
    assert function_id in result.updated  # updated in place, never replaced
    variables = function_b["Properties"]["Environment"]["Variables"]
    assert (variables["ENDPOINT_NAME"], variables["MODEL_VERSION"]) == (
        green,
        model_b.fingerprint(),
    )

    suffix = "Frontend/Function/Resource/CurrentVersion/Resource"
    old_version, _ = by_path(version_a, suffix)
    new_version, _ = by_path(version_b, suffix)
    assert new_version != old_version
    assert result.renamed[new_version] == old_version
    # A rollback needs the old version only until the update completes; afterwards it names
    # blue, which the same cleanup deletes, so it goes too.
    assert version_a["Resources"][old_version].get("DeletionPolicy", "Delete") == "Delete"

    alias_id, alias_a = by_path(version_a, "Frontend/Alias/Resource")
    _, alias_b = by_path(version_b, "Frontend/Alias/Resource")
    assert alias_a["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [old_version, "Version"]}
    assert alias_b["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [new_version, "Version"]}
    assert alias_id in result.updated
    assert alias_b["UpdatePolicy"] == alias_a["UpdatePolicy"]  # the shift goes through CodeDeploy


def test_rollback_alarms_are_new_for_each_version(
    version_a: dict[str, Any],
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """Replaced, not updated: each alarm's name carries the new front-end version, so the
    deployment starts with alarms in INSUFFICIENT_DATA (never one still in ALARM from blue's
    trouble), and the deployment group is updated in place to name them."""
    changed, _, version_b, result = rollout
    rollback = {
        k
        for k in version_b["Resources"]
        if construct_path(version_b, k).startswith(f"{STACK}/{changed}/RollbackAlarms/")
    }
    assert len(rollback) == 3
    assert rollback <= result.replaced
    new_version = next(
        k
        for k in version_b["Resources"]
        if construct_path(version_b, k)
        == f"{STACK}/{changed}/Frontend/Function/Resource/CurrentVersion/Resource"
    )
    for logical_id in rollback:
        name_a = version_a["Resources"][logical_id]["Properties"]["AlarmName"]
        name_b = version_b["Resources"][logical_id]["Properties"]["AlarmName"]
        assert name_a != name_b
        assert name_b["Fn::Join"][1][1] == {"Fn::GetAtt": [new_version, "Version"]}
    (group,) = [
        k
        for k in version_b["Resources"]
        if construct_path(version_b, k) == f"{STACK}/{changed}/Deployment/DeploymentGroup/Resource"
    ]
    assert group in result.updated
    assert group not in result.replaced | result.added | result.removed
    alarms = version_b["Resources"][group]["Properties"]["AlarmConfiguration"]["Alarms"]
    assert {a["Name"]["Ref"] for a in alarms} == rollback


def test_no_permission_changes_for_the_shift(
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """The front end's and the hooks' roles already cover green (a name pattern): nothing of
    them changes, so no IAM propagation delay can hit the shift."""
    changed, _, version_b, result = rollout
    iam = {
        k
        for k, v in version_b["Resources"].items()
        if v["Type"].startswith("AWS::IAM::")
        and construct_path(version_b, k).startswith(
            (f"{STACK}/{changed}/Frontend/", f"{STACK}/{changed}/Deployment/")
        )
    }
    # Front end, both hooks, deployment group: role + policy each; and the pre-traffic hook's
    # continuation policy, which names the hook function (unchanged by a new version).
    assert len(iam) == 9
    (continuation,) = [
        k
        for k in iam
        if construct_path(version_b, k)
        == f"{STACK}/{changed}/Deployment/PreTrafficHookContinuation/Resource"
    ]
    assert version_b["Resources"][continuation]["Type"] == "AWS::IAM::Policy"
    assert iam & result.changed == set()


def test_log_group_follows_green_by_an_update_the_handler_answers(
    version_a: dict[str, Any],
    rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """CloudFormation updates the custom resource; its handler adopts or creates green's group
    and answers its name as the new physical id, so the cleanup (success) or the rollback sends
    a Delete for the other one, which the handler keeps."""
    changed, config_b, version_b, result = rollout
    (group_id,) = [
        k
        for k in version_b["Resources"]
        if construct_path(version_b, k) == f"{STACK}/{changed}/Endpoint/LogGroup/Resource/Default"
    ]
    assert group_id in result.updated
    model_a = next(m for m in PROD.models if m.name == changed)
    model_b = next(m for m in config_b.models if m.name == changed)
    names = [
        template["Resources"][group_id]["Properties"]["LogGroupName"]
        for template in (version_a, version_b)
    ]
    assert names == [
        f"/aws/sagemaker/Endpoints/{PROD.endpoint_name(model_a)}",
        f"/aws/sagemaker/Endpoints/{config_b.endpoint_name(model_b)}",
    ]


# endpoint-guardrails: what a new model version replaces, by type and path below the model.
NATIVE_REPLACEMENTS = {
    ("AWS::SageMaker::Model", "Endpoint/Model"),
    ("AWS::SageMaker::EndpointConfig", "Endpoint/EndpointConfig"),
}


@pytest.fixture(scope="module", params=NATIVE_MODELS)
def native_rollout(
    request: pytest.FixtureRequest,
    version_a: dict[str, Any],
    retrained_prod: Callable[[str], dict[str, Any]],
) -> tuple[str, EnvironmentConfig, dict[str, Any], Plan]:
    return new_model_version(request.param, version_a, retrained_prod)


def by_path(template: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v) for k, v in template["Resources"].items() if v["Metadata"][PATH_METADATA] == path
    ]
    return found


def test_guardrails_model_change_replaces_model_and_config_and_updates_the_endpoint(
    version_a: dict[str, Any],
    native_rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """Exactly: Model and EndpointConfig replaced (CloudFormation names them, so they can be),
    the Endpoint updated in place under its stable name (SageMaker's guardrails then do the
    blue/green), its two rollback alarms updated in place to watch the new fleet (the new
    endpoint config's name), a new execution role for the new version (the old fleet keeps its
    own while SageMaker may still roll back to it), and nothing else replaced, added or
    updated."""
    changed, config_b, version_b, result = native_rollout
    prefix = f"{STACK}/{changed}/"
    replaced = {
        (version_b["Resources"][k]["Type"], construct_path(version_b, k).removeprefix(prefix))
        for k in result.replaced
    }
    assert replaced == NATIVE_REPLACEMENTS
    endpoint_id, endpoint_b = by_path(version_b, prefix + "Endpoint/Resource")
    _, endpoint_a = by_path(version_a, prefix + "Endpoint/Resource")
    alarms = {
        by_path(version_b, f"{prefix}EndpointRollbackAlarms/{check}/Resource")[0]
        for check in ("Endpoint5XXRatio", "ModelLatencyP99")
    }
    assert result.updated == {endpoint_id} | alarms
    name = PROD.endpoint_name(next(m for m in PROD.models if m.name == changed))
    assert endpoint_a["Properties"]["EndpointName"] == endpoint_b["Properties"]["EndpointName"]
    assert endpoint_b["Properties"]["EndpointName"] == name
    assert (
        endpoint_b["Properties"]["DeploymentConfig"] == endpoint_a["Properties"]["DeploymentConfig"]
    )
    model_a = next(m for m in PROD.models if m.name == changed)
    model_b = next(m for m in config_b.models if m.name == changed)
    roles = {
        fingerprint: {
            f"Endpoint/ExecutionRole-{name}-{fingerprint}/{part}"
            for part in ("Resource", "DefaultPolicy/Resource")
        }
        for fingerprint in (model_a.fingerprint(), model_b.fingerprint())
    }
    assert {construct_path(version_b, i).removeprefix(prefix) for i in result.added} == roles[
        model_b.fingerprint()
    ]
    assert {construct_path(version_a, i).removeprefix(prefix) for i in result.removed} == roles[
        model_a.fingerprint()
    ]


def test_guardrails_model_change_changes_nothing_outside_the_model(
    version_a: dict[str, Any],
    native_rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    assert_nothing_outside_changes(version_a, *native_rollout)


def test_guardrails_model_change_publishes_no_lambda_version(
    version_a: dict[str, Any],
    native_rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """The front end names the stable endpoint and no model version: its function, version,
    alias and CodeDeploy group are byte-for-byte the same, so no CodeDeploy run starts."""
    changed, _, version_b, result = native_rollout
    prefix = f"{STACK}/{changed}/"
    for suffix in (
        "Frontend/Function/Resource/Resource",
        "Frontend/Function/Resource/CurrentVersion/Resource",
        "Frontend/Alias/Resource",
        "Deployment/DeploymentGroup/Resource",
    ):
        logical_id, resource_b = by_path(version_b, prefix + suffix)
        assert version_a["Resources"][logical_id] == resource_b, suffix
        assert logical_id not in result.changed | result.removed
    _, function = by_path(version_b, prefix + "Frontend/Function/Resource/Resource")
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["MODEL_VERSION"] == "endpoint-managed"
    assert variables["ENDPOINT_NAME"] == f"{PROD.name}-{changed}"


def test_guardrails_autoscaling_is_left_alone_and_the_new_fleet_keeps_the_current_size(
    version_a: dict[str, Any],
    native_rollout: tuple[str, EnvironmentConfig, dict[str, Any], Plan],
) -> None:
    """AWS (Update endpoints that use auto scaling): a model change of a variant that is a
    scalable target is allowed, without deregistering it; autoscaling pauses while the update
    runs. The target and its policy name the stable endpoint and variant, so CloudFormation
    does not touch them; ``RetainAllVariantProperties`` makes the new fleet start at the
    variant's current (autoscaled) instance count rather than ``initial_instance_count``."""
    changed, _, version_b, result = native_rollout
    prefix = f"{STACK}/{changed}/"
    target_id, target = by_path(version_b, prefix + "Autoscaling/Target/Resource")
    policy_id, _ = by_path(version_b, prefix + "Autoscaling/Target/InvocationsPerInstance/Resource")
    assert {target_id, policy_id}.isdisjoint(result.changed | result.removed)
    assert version_a["Resources"][target_id] == target
    assert target["Properties"]["ResourceId"] == f"endpoint/{PROD.name}-{changed}/variant/primary"
    _, endpoint = by_path(version_b, prefix + "Endpoint/Resource")
    assert endpoint["Properties"]["RetainAllVariantProperties"] is True
