"""Facts about SageMaker instance types that the config and the constructs both rely on.

Kept in one place so that the config validation and the constructs cannot disagree. The valid
types come from botocore's SageMaker API model (the enums CreateEndpointConfig and the
processing jobs validate against), so a boto3 upgrade brings new types with no edit here.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Literal

from botocore import __version__ as botocore_version
from botocore.loaders import Loader

INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")

# Families whose instances carry local NVMe instance storage. AWS encrypts that storage in
# hardware and CreateEndpointConfig rejects a KmsKeyId for them ("*d" families, most GPU and
# Trainium types). Source: the KmsKeyId description in the SageMaker CreateEndpointConfig API.
# A list kept here because no package the app installs ships instance storage facts: botocore's
# SageMaker model lists types without storage, EC2's DescribeInstanceTypes needs an AWS call.
# tests/infra/test_instance_types.py checks it against moto's copy of DescribeInstanceTypes for
# every hosting type botocore knows, so an upgrade that brings a new family fails there.
LOCAL_NVME_FAMILIES: frozenset[str] = frozenset(
    {
        # general purpose / compute / memory with a "d" (local disk) suffix
        "m5d",
        "c5d",
        "r5d",
        "m6id",
        "c6id",
        "r6id",
        "m6gd",
        "c6gd",
        "r6gd",
        "m7gd",
        "c7gd",
        "r7gd",
        # accelerated
        "dl1",
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "g7",
        "g7e",
        "p3dn",
        "p4d",
        "p4de",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "p6e-gb200",
        "trn1",
        "trn1n",
        "trn2",
    }
)

InstanceUse = Literal["hosting", "processing"]
# The API model's enum for each use: endpoint variants, and processing jobs (Model Monitor).
_ENUM_SHAPES: dict[str, str] = {
    "hosting": "ProductionVariantInstanceType",
    "processing": "ProcessingInstanceType",
}
_EXAMPLES: dict[str, str] = {"hosting": "ml.c5.xlarge", "processing": "ml.m5.xlarge"}


@functools.cache
def _sagemaker_enums() -> dict[str, frozenset[str]]:
    """The instance type enums of the installed botocore's SageMaker model, read once (its own
    data only: a ~/.aws/models override must not change what synth accepts)."""
    loader = Loader(
        extra_search_paths=[Loader.BUILTIN_DATA_PATH],
        include_default_search_paths=False,
        include_default_extras=False,
    )
    shapes = loader.load_service_model("sagemaker", "service-2")["shapes"]
    return {use: frozenset(shapes[shape]["enum"]) for use, shape in _ENUM_SHAPES.items()}


def valid_instance_types(use: InstanceUse) -> frozenset[str]:
    """Every instance type SageMaker's API accepts for ``use``."""
    return _sagemaker_enums()[use]


def _closest(value: str, valid: frozenset[str]) -> str | None:
    """The type ``value`` most likely meant: the same one spelled otherwise (case, spaces, the
    ``ml.`` prefix), else the closest by spelling."""
    spelled = value.strip().lower()
    for candidate in (spelled, f"ml.{spelled}"):
        if candidate in valid:
            return candidate
    close = difflib.get_close_matches(spelled, sorted(valid), n=1, cutoff=0.75)
    return close[0] if close else None


def instance_family(instance_type: str) -> str:
    """Return the family of an ``ml.<family>.<size>`` instance type (``ml.c5.xlarge`` -> ``c5``)."""
    match = INSTANCE_TYPE_PATTERN.match(instance_type)
    if match is None:
        raise ValueError(
            f"instance type {instance_type!r} is not of the form ml.<family>.<size>, "
            "e.g. ml.c5.xlarge"
        )
    return match.group("family")


def check_instance_type(value: str, *, use: InstanceUse) -> str:
    """Return ``value`` if SageMaker accepts it for ``use``, else raise ValueError with the
    closest valid type ("did you mean") or, failing one, what valid types look like."""
    valid = valid_instance_types(use)
    if value in valid:
        return value
    suggestion = _closest(value, valid)
    hint = (
        f"did you mean {suggestion!r}?"
        if suggestion is not None
        else f"{use} types look like ml.<family>.<size>, e.g. {_EXAMPLES[use]}"
    )
    raise ValueError(
        f"unknown instance type {value!r} for SageMaker {use}; {hint} (valid: the {len(valid)} "
        f"{use} types of the SageMaker API in botocore {botocore_version}; a newer type needs "
        "a newer boto3 in requirements.txt)"
    )


def is_burstable(instance_type: str) -> bool:
    """Burstable (``ml.t*``) instances run on CPU credits and cannot be autoscaled by SageMaker."""
    return instance_family(instance_type).startswith("t")


def has_local_nvme(instance_type: str) -> bool:
    """True when the instance type has local NVMe storage, so an endpoint config must not set a
    KmsKeyId for it."""
    return instance_family(instance_type) in LOCAL_NVME_FAMILIES
