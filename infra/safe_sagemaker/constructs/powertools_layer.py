"""A Lambda layer with Powertools for AWS Lambda (Python), built from the synth environment."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from safe_sagemaker.archives import cached_archive

DISTRIBUTION = "aws-lambda-powertools"
# Already in every Python Lambda runtime (the AWS SDK and its dependencies): the runtime's copy
# is the one Lambda itself tests with boto3, so the layer must not shadow it.
_RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "jmespath", "s3transfer", "urllib3", "python-dateutil", "six"}
)
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_distributions(root: str = DISTRIBUTION) -> list[metadata.Distribution]:
    """``root`` and the dependencies it always imports (no extras) that Lambda lacks."""
    distribution = metadata.distribution(root)
    selected = [distribution]
    for requirement in distribution.requires or []:
        if "extra ==" in requirement:
            continue
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:  # pragma: no cover - metadata is well-formed
            continue
        if _normalize(match.group(0)) not in _RUNTIME_PROVIDED:
            selected.append(metadata.distribution(match.group(0)))
    return selected


def _installed_files(distribution: metadata.Distribution) -> list[tuple[Path, Path]]:
    """(source, path relative to the layer's ``python/``) of every file the wheel installed
    into site-packages, without byte code (compiled for the synth machine's Python)."""
    site_packages = Path(str(distribution.locate_file("")))
    files = []
    for entry in distribution.files or []:
        relative = Path(str(entry))
        if relative.parts[0] == ".." or "__pycache__" in relative.parts:
            continue
        if relative.suffix == ".pyc":
            continue
        files.append((site_packages / relative, relative))
    return files


def layer_contents(distributions: Sequence[metadata.Distribution]) -> list[tuple[str, bytes]]:
    """The layer's entries (``python/<path>``, bytes), sorted: what the archive holds."""
    entries = sorted(
        (f"python/{relative.as_posix()}", source)
        for distribution in distributions
        for source, relative in _installed_files(distribution)
    )
    return [(name, source.read_bytes()) for name, source in entries]


def layer_archive(distributions: Sequence[metadata.Distribution]) -> Path:
    """The layer's zip (see ``safe_sagemaker.archives``)."""
    return cached_archive("powertools", layer_contents(distributions))


class PowertoolsLayer(Construct):
    """``aws-lambda-powertools`` as installed where ``cdk synth`` runs, plus the pure-Python
    dependencies it imports that the Lambda runtime lacks (``typing_extensions``).

    The layer is a zip built at construction (no Docker, no download, no CDK bundling) and
    staged as a plain file asset, so its asset hash is CDK's fingerprint of the zip's bytes:
    any change to what the layer holds changes the S3 key. As nothing is bundled, a synth that
    skips bundling (``cdk bootstrap``, ``cdk ls``, ``cdk deploy -e`` for the other stacks)
    stages the same zip under the same key instead of raw site-packages. Install the version
    pinned in ``requirements.txt``: the layer ships whatever the synth environment has.

    Created resources: ``layer_version``. Attributes: ``version`` (Powertools' version).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        compatible_runtimes: Sequence[lambda_.Runtime] = (lambda_.Runtime.PYTHON_3_14,),
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """
        :param compatible_runtimes: runtimes the layer declares. Default: Python 3.14.
        :param removal_policy: what happens to a layer version the stack no longer uses.
            Default: ``DESTROY``; function versions published with it (kept for rollback)
            keep working, as Lambda keeps their copy.
        """
        super().__init__(scope, construct_id)
        distributions = layer_distributions()
        pins = [f"{d.metadata['Name']}=={d.version}" for d in distributions]
        self.version = distributions[0].version
        self.layer_version = lambda_.LayerVersion(
            self,
            "Resource",
            code=lambda_.Code.from_asset(str(layer_archive(distributions))),
            compatible_runtimes=list(compatible_runtimes),
            description=", ".join(pins),
            removal_policy=removal_policy,
        )
