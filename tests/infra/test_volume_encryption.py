"""Endpoint volume encryption: ``KmsKeyId`` on every endpoint config except instance types with
local NVMe storage, which AWS encrypts in hardware and for which SageMaker rejects a key.

One in-process stack holds one ModelEndpoint per family (a synth per family would cost seconds
each), and every family of ``LOCAL_NVME_FAMILIES`` gets its own test case."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from safe_sagemaker.constructs.model_endpoint import ModelEndpoint
from safe_sagemaker.instance_types import LOCAL_NVME_FAMILIES, has_local_nvme, instance_family
from tests.infra.cfn_text import resources

# EBS-only families: they must get the key.
EBS_ONLY_FAMILIES = ("c5", "m5", "r5", "c6i", "m6g", "c7g", "inf2", "t2")


@pytest.fixture(scope="module")
def configs_by_family() -> dict[str, dict[str, Any]]:
    stack = Stack(App(), "VolumeKeys")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    for family in sorted(LOCAL_NVME_FAMILIES) + list(EBS_ONLY_FAMILIES):
        ModelEndpoint(
            stack,
            f"Endpoint-{family}",
            endpoint_name=f"volume-{family}",
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:v1",
            model_data_url="s3://models-bucket/model.tar.gz",
            instance_type=f"ml.{family}.xlarge",
            volume_encryption_key=key,
        )
    template = Template.from_stack(stack).to_json()
    configs = {}
    for config in resources(template, "AWS::SageMaker::EndpointConfig").values():
        (variant,) = config["Properties"]["ProductionVariants"]
        configs[instance_family(variant["InstanceType"])] = config["Properties"]
    return configs


def test_every_family_was_synthesized(configs_by_family: dict[str, dict[str, Any]]) -> None:
    assert set(configs_by_family) == LOCAL_NVME_FAMILIES | set(EBS_ONLY_FAMILIES)


@pytest.mark.parametrize("family", sorted(LOCAL_NVME_FAMILIES))
def test_local_nvme_family_gets_no_volume_key(
    configs_by_family: dict[str, dict[str, Any]], family: str
) -> None:
    assert has_local_nvme(f"ml.{family}.2xlarge")
    assert "KmsKeyId" not in configs_by_family[family]


@pytest.mark.parametrize("family", EBS_ONLY_FAMILIES)
def test_ebs_only_family_gets_the_volume_key(
    configs_by_family: dict[str, dict[str, Any]], family: str
) -> None:
    assert not has_local_nvme(f"ml.{family}.2xlarge")
    assert configs_by_family[family]["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"


def test_the_nvme_list_has_one_home() -> None:
    """Families are ``ml.<family>.<size>`` names, lowercase, unique: a typo would silently
    put a key on a type SageMaker rejects it for."""
    for family in LOCAL_NVME_FAMILIES:
        assert family == family.lower() and "." not in family
        assert instance_family(f"ml.{family}.xlarge") == family


def test_production_endpoints_carry_the_volume_key(prod_template: Any) -> None:
    for config in resources(prod_template.to_json(), "AWS::SageMaker::EndpointConfig").values():
        assert "KmsKeyId" in config["Properties"]
