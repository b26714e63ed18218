"""Instance types: the valid ones come from botocore's SageMaker model; the local-NVMe families
(no volume KMS key) are a list of ours, checked here against EC2's instance storage facts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import moto
import pytest

from safe_sagemaker.instance_types import (
    LOCAL_NVME_FAMILIES,
    check_instance_type,
    instance_family,
    valid_instance_types,
)

# Hosting families whose types moto's copy of EC2's DescribeInstanceTypes does not describe,
# with whether they have local NVMe storage (AWS's EC2 instance type pages): decide each new one.
NOT_IN_EC2_DATA = {"dl1": True, "p2": False, "p3": False, "p6e-gb200": True}


@pytest.fixture(scope="module")
def ec2_instance_types() -> dict[str, Any]:
    data = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    with gzip.open(data) as file:
        types: dict[str, Any] = json.load(file)
    return types


def test_local_nvme_families_are_the_hosting_families_with_instance_storage(
    ec2_instance_types: dict[str, Any],
) -> None:
    storage: dict[str, set[bool]] = {}
    for instance_type in valid_instance_types("hosting"):
        described = ec2_instance_types.get(instance_type.removeprefix("ml."))
        if described is not None:
            has_storage = bool(described.get("InstanceStorageSupported"))
            storage.setdefault(instance_family(instance_type), set()).add(has_storage)
    undescribed = {instance_family(t) for t in valid_instance_types("hosting")} - set(storage)
    assert undescribed == set(NOT_IN_EC2_DATA)
    assert all(len(kinds) == 1 for kinds in storage.values()), "a family mixes storage kinds"
    with_storage = {family for family, kinds in storage.items() if True in kinds}
    with_storage |= {family for family, local in NOT_IN_EC2_DATA.items() if local}
    hosting = set(storage) | undescribed
    assert with_storage - LOCAL_NVME_FAMILIES == set(), "add these to LOCAL_NVME_FAMILIES"
    assert (LOCAL_NVME_FAMILIES & hosting) - with_storage == set(), "these have no NVMe"


@pytest.mark.parametrize("use", ["hosting", "processing"])
def test_every_type_of_the_api_model_is_accepted(use: str) -> None:
    valid = valid_instance_types(use)  # type: ignore[arg-type]
    assert {"ml.m5.xlarge", "ml.c5.xlarge"} <= valid
    for instance_type in valid:
        assert check_instance_type(instance_type, use=use) == instance_type  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("ML.C5.XLARGE", "ml.c5.xlarge"),
        ("c5.xlarge", "ml.c5.xlarge"),
        (" ml.g5.2xlarge", "ml.g5.2xlarge"),
        ("ml.g5.xlarg", "ml.g5.xlarge"),
        ("ml.c5.xl", "ml.c5.xlarge"),
    ],
)
def test_a_misspelled_type_gets_the_type_it_meant(given: str, meant: str) -> None:
    with pytest.raises(ValueError, match=f"did you mean '{meant}'"):
        check_instance_type(given, use="hosting")


def test_a_hosting_only_type_is_refused_for_processing() -> None:
    only_hosting = valid_instance_types("hosting") - valid_instance_types("processing")
    with pytest.raises(ValueError, match="for SageMaker processing"):
        check_instance_type(sorted(only_hosting)[0], use="processing")
