"""Facts about SageMaker instance types that the config and the constructs both rely on.

Kept in one place so that the config validation and the constructs cannot disagree.
"""

from __future__ import annotations

import re

INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9]+)$")

# Families whose instances carry local NVMe instance storage. AWS encrypts that storage in
# hardware and CreateEndpointConfig rejects a KmsKeyId for them ("*d" families, most GPU and
# Trainium types). Source: the KmsKeyId description in the SageMaker CreateEndpointConfig API.
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
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "p3dn",
        "p4d",
        "p4de",
        "p5",
        "p5e",
        "p5en",
        "trn1",
        "trn1n",
        "trn2",
    }
)


def instance_family(instance_type: str) -> str:
    """Return the family of an ``ml.<family>.<size>`` instance type (``ml.c5.xlarge`` -> ``c5``)."""
    match = INSTANCE_TYPE_PATTERN.match(instance_type)
    if match is None:
        raise ValueError(
            f"instance type {instance_type!r} is not of the form ml.<family>.<size>, "
            "e.g. ml.c5.xlarge"
        )
    return match.group("family")


def check_instance_type(value: str, *, kind: str, example: str) -> str:
    """Return ``value`` if it is of the form ``ml.<family>.<size>``, else raise ValueError naming
    the ``kind`` of instance expected and an ``example`` of it."""
    if not INSTANCE_TYPE_PATTERN.match(value):
        raise ValueError(
            f"unknown instance type {value!r}; {kind} types look like ml.<family>.<size>, "
            f"e.g. {example}"
        )
    return value


def is_burstable(instance_type: str) -> bool:
    """Burstable (``ml.t*``) instances run on CPU credits and cannot be autoscaled by SageMaker."""
    return instance_family(instance_type).startswith("t")


def has_local_nvme(instance_type: str) -> bool:
    """True when the instance type has local NVMe storage, so an endpoint config must not set a
    KmsKeyId for it."""
    return instance_family(instance_type) in LOCAL_NVME_FAMILIES
