"""The per-environment VPC option: config rules (one message naming the field and the fix), the
fingerprint, and one synthesized VPC environment (prod's models plus a serverless one): the
Models' and every function's VPC settings, the VPC endpoints, the network-interface
permissions, and cdk-nag (all packs, no stale acknowledgement), cfn-lint and checkov clean."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from safe_sagemaker.config import load_environment, load_environments
from safe_sagemaker.constructs.private_network import (
    INTERFACE_ENDPOINT_SERVICES,
    LAMBDA_NETWORK_INTERFACE_ACTIONS,
    SAGEMAKER_NETWORK_INTERFACE_ACTIONS,
)
from safe_sagemaker.nag import PACKS, stale_acknowledgements
from tests.conftest import REPO_ROOT, cfn_lint, cli_app
from tests.infra.test_config import env_with, error_for, write_env

VPC_ID = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-scorer/3"
ROUTE_TABLES = ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"]
VPC: dict[str, Any] = {
    "vpc_id": VPC_ID,
    "subnet_ids": SUBNETS,
    "security_group_ids": GROUPS,
    "route_table_ids": ROUTE_TABLES,
}


def with_vpc(**changes: Any) -> dict[str, Any]:
    vpc = {key: value for key, value in {**VPC, **changes}.items() if value is not None}
    return env_with({}, vpc=vpc)


# --- configuration ---------------------------------------------------------------------------


def test_vpc_loads_with_endpoints_by_default(tmp_path: Path) -> None:
    env = load_environment(write_env(tmp_path, "prod", with_vpc()))
    assert env.vpc is not None
    assert (env.vpc.subnet_ids, env.vpc.security_group_ids) == (SUBNETS, GROUPS)
    assert env.vpc.create_endpoints is True
    assert env.model_vpc(env.models[0]) == env.vpc


def test_example_environments_have_no_vpc() -> None:
    """dev and prod keep their endpoint names: without a VPC the fingerprint is unchanged."""
    for env in load_environments():
        assert env.vpc is None
        for model in env.models:
            assert env.fingerprint(model) == model.fingerprint()


def test_vpc_settings_of_the_model_are_fingerprinted(tmp_path: Path) -> None:
    """A changed VpcConfig is a new Model, so a new (green) endpoint; the endpoints setting and
    route tables never reach the Model."""

    def name(body: dict[str, Any]) -> str:
        env = load_environment(write_env(tmp_path, "prod", body))
        return env.endpoint_name(env.models[0])

    plain = name(env_with({}))
    base = name(with_vpc())
    assert base != plain
    assert name(with_vpc(subnet_ids=[*SUBNETS, "subnet-0123456789abcdef2"])) != base
    assert name(with_vpc(security_group_ids=[*GROUPS, "sg-0123456789abcdef1"])) != base
    # Order carries no meaning in a VpcConfig.
    assert name(with_vpc(subnet_ids=SUBNETS[::-1])) == base
    assert name(with_vpc(create_endpoints=False, route_table_ids=None)) == base


def test_serverless_models_stay_outside_the_vpc(tmp_path: Path) -> None:
    body = with_vpc()
    body["models"] = [
        {"name": "scorer", "model_package_arn": PACKAGE, "serverless": {"memory_size_mb": 2048}}
    ]
    env = load_environment(write_env(tmp_path, "prod", body))
    model = env.models[0]
    assert env.model_vpc(model) is None
    assert env.fingerprint(model) == model.fingerprint()


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        (
            {"subnet_ids": None},
            "vpc.subnet_ids",
            "list at least one subnet id (two or more in different Availability Zones), or "
            "remove vpc",
        ),
        (
            {"subnet_ids": []},
            "vpc.subnet_ids",
            "list at least one subnet id",
        ),
        (
            {"security_group_ids": None},
            "vpc.security_group_ids",
            "subnets without security groups: SageMaker and Lambda need at least one",
        ),
        (
            {"subnet_ids": SUBNETS[:1]},
            "vpc.subnet_ids",
            "a production environment needs at least two subnets in different Availability Zones",
        ),
        (
            {"subnet_ids": [f"subnet-{n:017x}" for n in range(17)]},
            "vpc.subnet_ids",
            "17 subnets, over the 16 SageMaker and Lambda take",
        ),
        (
            {"security_group_ids": [f"sg-{n:017x}" for n in range(6)]},
            "vpc.security_group_ids",
            "6 security groups, over the 5 SageMaker and Lambda take",
        ),
        (
            {"route_table_ids": None},
            "vpc.route_table_ids",
            "list their ids, or set create_endpoints to false",
        ),
        (
            {"create_endpoints": False},
            "vpc.route_table_ids",
            "remove them or set create_endpoints to true",
        ),
        (
            {"vpc_id": "vpc-123"},
            "vpc.vpc_id",
            "'vpc-123' is not an id of the form vpc-<8 or 17 hex digits>",
        ),
        (
            {"subnet_ids": ["subnet-0123456789abcdef0", "sg-0123456789abcdef0"]},
            "vpc.subnet_ids",
            "'sg-0123456789abcdef0' is not an id of the form subnet-",
        ),
        (
            {"security_group_ids": ["sg-0123456789abcdef0", "sg-0123456789abcdef0"]},
            "vpc.security_group_ids",
            "an id is listed twice",
        ),
    ],
    ids=[
        "no-subnets",
        "empty-subnets",
        "no-security-groups",
        "one-subnet-in-production",
        "too-many-subnets",
        "too-many-security-groups",
        "endpoints-without-route-tables",
        "route-tables-without-endpoints",
        "bad-vpc-id",
        "bad-subnet-id",
        "duplicate-group",
    ],
)
def test_bad_vpc_config_fails_with_one_message(
    tmp_path: Path, changes: dict[str, Any], field: str, fix: str
) -> None:
    message = error_for(tmp_path, with_vpc(**changes))
    assert "\n" not in message
    assert message.startswith(f"environment 'prod', field '{field}': "), message
    assert fix in message


def test_one_subnet_is_enough_outside_production(tmp_path: Path) -> None:
    body = {**with_vpc(subnet_ids=SUBNETS[:1]), "production": False}
    assert load_environment(write_env(tmp_path, "staging", body)).vpc is not None


# --- the constructs on their own ------------------------------------------------------------


def test_constructs_refuse_an_incomplete_network_and_a_serverless_model_in_a_vpc() -> None:
    from aws_cdk import App, Stack

    from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
    from safe_sagemaker.constructs.private_network import PrivateNetwork

    stack = Stack(App(), "Network")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subnet_ids": []}, "subnet_ids must name at least one subnet"),
        ({"security_group_ids": []}, "security_group_ids must name at least one"),
        ({"route_table_ids": ()}, "create_endpoints needs route_table_ids"),
    ]
    for changes, message in cases:
        with pytest.raises(ValueError, match=message):
            PrivateNetwork(stack, f"Bad{len(message)}", **{**VPC, **changes})
    network = PrivateNetwork(stack, "Network", **{**VPC, "create_endpoints": False})
    assert (network.endpoint_security_group, network.interface_endpoints) == (None, {})
    with pytest.raises(ValueError, match="serverless endpoints do not support a VPC"):
        ModelEndpoint(
            stack,
            "Serverless",
            endpoint_name="scorer",
            model_package_arn=PACKAGE,
            serverless_memory_size_mb=2048,
            network=network.placement,
        )


# --- one synthesized VPC environment ---------------------------------------------------------

STACK = "SecureStack"


@pytest.fixture(scope="module")
def vpc_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, dict[str, Any]]:
    """prod's models and dev's serverless model, in a VPC: synthesized once for this module."""
    from app import build_app

    environments = REPO_ROOT / "infra" / "environments"
    body = json.loads((environments / "prod.json").read_text())
    dev = json.loads((environments / "dev.json").read_text())
    body["models"] += [m for m in dev["models"] if "serverless" in m]
    body["vpc"] = copy.deepcopy(VPC)
    folder = tmp_path_factory.mktemp("environments")
    (folder / "secure.json").write_text(json.dumps(body))
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(cli_app(outdir), environments_dir=folder)
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK).template
    return app, outdir, template


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        resource["Metadata"]["aws:cdk:path"]: resource
        for resource in template["Resources"].values()
        if resource["Type"] == kind
    }


def test_instance_models_run_in_the_vpc_and_serverless_ones_do_not(
    vpc_app: tuple[Any, Path, dict[str, Any]],
) -> None:
    _, _, template = vpc_app
    models = resources(template, "AWS::SageMaker::Model")
    vpc_configs = {
        path.split("/")[1]: m["Properties"].get("VpcConfig") for path, m in models.items()
    }
    expected = {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS}
    assert vpc_configs == {
        "fraud-detector": expected,
        "churn-xgboost": expected,
        "churn-scorer": None,
    }
    # Network isolation stays: the container gets no network inside the VPC either.
    assert models[f"{STACK}/fraud-detector/Endpoint/Model"]["Properties"]["EnableNetworkIsolation"]


def test_every_function_runs_in_the_vpc(vpc_app: tuple[Any, Path, dict[str, Any]]) -> None:
    """Front ends, hooks, the endpoint-log-group provider and its framework function."""
    _, _, template = vpc_app
    functions = resources(template, "AWS::Lambda::Function")
    assert len(functions) == 3 * 3 + 2
    for path, function in functions.items():
        assert function["Properties"]["VpcConfig"] == {
            "SecurityGroupIds": GROUPS,
            "SubnetIds": SUBNETS,
        }, path
        # Inside the VPC, checkov's Lambda-in-a-VPC check runs on it (nothing skips it).
        skips = function.get("Metadata", {}).get("checkov", {"skip": []})["skip"]
        assert "CKV_AWS_117" not in {skip["id"] for skip in skips}, path


def test_roles_get_network_interface_permissions_before_their_resources(
    vpc_app: tuple[Any, Path, dict[str, Any]],
) -> None:
    _, _, template = vpc_app
    logical_ids = {
        resource["Metadata"]["aws:cdk:path"]: logical_id
        for logical_id, resource in template["Resources"].items()
    }
    policies = {
        path: policy
        for path, policy in resources(template, "AWS::IAM::Policy").items()
        if path.endswith("/NetworkInterfaces/Resource")
    }
    placed = 0
    for kind, actions in (
        ("AWS::Lambda::Function", LAMBDA_NETWORK_INTERFACE_ACTIONS),
        ("AWS::SageMaker::Model", SAGEMAKER_NETWORK_INTERFACE_ACTIONS),
        ("AWS::SageMaker::DataQualityJobDefinition", SAGEMAKER_NETWORK_INTERFACE_ACTIONS),
    ):
        for path, resource in resources(template, kind).items():
            properties = resource["Properties"]
            if "VpcConfig" not in properties.get("NetworkConfig", properties):
                continue
            placed += 1
            needed = [
                p
                for p in policies
                if logical_ids[p] in resource.get("DependsOn", [])
                and policies[p]["Properties"]["PolicyDocument"]["Statement"]
                == [{"Action": sorted(actions), "Effect": "Allow", "Resource": "*"}]
            ]
            assert len(needed) == 1, path
    assert placed == 3 * 3 + 2 + 2 + 1  # functions, instance models, fraud-detector's monitor


def test_the_model_monitor_job_runs_in_its_models_subnets(
    vpc_app: tuple[Any, Path, dict[str, Any]],
) -> None:
    _, _, template = vpc_app
    (definition,) = resources(template, "AWS::SageMaker::DataQualityJobDefinition").values()
    assert definition["Properties"]["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": GROUPS, "Subnets": SUBNETS},
    }
    # The network-interface policy is the job role's own (the one the definition runs as).
    ((policy_id, policy),) = [
        (logical_id, resource)
        for logical_id, resource in template["Resources"].items()
        if resource["Metadata"]["aws:cdk:path"].startswith(f"{STACK}/fraud-detector/Monitor/")
        and resource["Metadata"]["aws:cdk:path"].endswith("/NetworkInterfaces/Resource")
    ]
    role = definition["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    assert policy_id in definition["DependsOn"]


def test_a_monitor_placed_in_a_vpc_is_a_new_job_definition() -> None:
    """Every property of a job definition forces its replacement, and the definition is named:
    a new placement must give a new name, or CloudFormation could not replace it."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_kms as kms

    from safe_sagemaker.constructs.capture_bucket import DataCaptureBucket
    from safe_sagemaker.constructs.model_monitor import DataQualityMonitor
    from safe_sagemaker.constructs.private_network import PrivateNetwork

    stack = Stack(App(), "Monitors", env={"region": "us-east-1"})
    bucket = DataCaptureBucket(stack, "Captures", bucket_name="captures-of-scorer")
    key = kms.Key(stack, "Volumes")
    baseline = "s3://baselines/scorer/"
    names = set()
    for construct_id, subnets in (("Public", None), ("Two", SUBNETS), ("One", SUBNETS[:1])):
        network = (
            PrivateNetwork(
                stack,
                f"Network{construct_id}",
                **{**VPC, "subnet_ids": subnets, "create_endpoints": False},
            ).placement
            if subnets
            else None
        )
        monitor = DataQualityMonitor(
            stack,
            construct_id,
            endpoint_name="scorer",
            capture_bucket=bucket,
            baseline_statistics_uri=baseline + "statistics.json",
            baseline_constraints_uri=baseline + "constraints.json",
            volume_encryption_key=key,
            network=network,
        )
        assert (monitor.network_interfaces_policy is None) == (network is None)
        names.add(monitor.job_definition_name)
    assert len(names) == 3


def test_interface_and_s3_endpoints(vpc_app: tuple[Any, Path, dict[str, Any]]) -> None:
    _, _, template = vpc_app
    endpoints = resources(template, "AWS::EC2::VPCEndpoint")
    interface = {
        path.split("/")[-2]: e["Properties"]
        for path, e in endpoints.items()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    }
    assert set(interface) == set(INTERFACE_ENDPOINT_SERVICES)
    for properties in interface.values():
        assert properties["SubnetIds"] == SUBNETS
        assert properties["PrivateDnsEnabled"] is True
        assert properties["VpcId"] == VPC_ID
    # com.amazonaws.<region>.<service>, joined around the region token.
    services = {p["ServiceName"]["Fn::Join"][1][-1] for p in interface.values()}
    assert services == {
        ".sagemaker.runtime",
        ".sagemaker.api",
        ".monitoring",
        ".logs",
        ".codedeploy",
        ".lambda",
        ".application-autoscaling",
        ".ecr.api",
        ".ecr.dkr",
        ".xray",
    }
    (gateway,) = [
        e["Properties"]
        for e in endpoints.values()
        if e["Properties"]["VpcEndpointType"] == "Gateway"
    ]
    assert gateway["RouteTableIds"] == ROUTE_TABLES
    (group,) = resources(template, "AWS::EC2::SecurityGroup").values()
    ingress = group["Properties"]["SecurityGroupIngress"]
    assert [(i["SourceSecurityGroupId"], i["FromPort"], i["ToPort"]) for i in ingress] == [
        (GROUPS[0], 443, 443)
    ]


def test_vpc_environment_is_nag_clean_with_no_stale_acknowledgement(
    vpc_app: tuple[Any, Path, dict[str, Any]],
) -> None:
    """In a VPC the LambdaInsideVPC acknowledgements are not made (they would be stale)."""
    app, outdir, _ = vpc_app
    report = json.loads((outdir / "validation-report.json").read_text())
    assert {r["pluginName"] for r in report["pluginReports"]} == set(PACKS)
    for plugin in report["pluginReports"]:
        assert (plugin["conclusion"], plugin["violations"]) == ("success", []), plugin["pluginName"]
    assert stale_acknowledgements(app, report) == []
    acknowledged = {
        suppressed["ruleName"]
        for plugin in report["pluginReports"]
        for suppressed in plugin["suppressedViolations"]
    }
    assert "NIST.800.53.R5-LambdaInsideVPC" not in acknowledged
    assert "NIST.800.53.R5-IAMNoInlinePolicy" in acknowledged


def test_vpc_environment_passes_cfn_lint_and_checkov(
    vpc_app: tuple[Any, Path, dict[str, Any]],
) -> None:
    _, outdir, _ = vpc_app
    template = str(outdir / f"{STACK}.template.json")
    assert cfn_lint([template]) == []
    checkov = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists(), "checkov is missing: run make install"
    scan = subprocess.run(
        [str(checkov), "--config-file", ".checkov.yaml", "-o", "json", f"-f{template}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(scan.stdout)
    assert report["results"]["failed_checks"] == []
    assert report["summary"]["passed"] > 0
