"""A Lambda layer with Powertools for AWS Lambda (Python), built from the synth environment."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    ILocalBundling,
    RemovalPolicy,
)
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

DISTRIBUTION = "aws-lambda-powertools"
# Already in every Python Lambda runtime (the AWS SDK and its dependencies): the runtime's copy
# is the one Lambda itself tests with boto3, so the layer must not shadow it.
_RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "jmespath", "s3transfer", "urllib3", "python-dateutil", "six"}
)
# Bump when the layer's layout changes, so that the asset hash changes with it.
_LAYOUT_VERSION = "2"
# Built layer archives, one per asset hash (git-ignored). Zipping Powertools' few hundred files
# costs seconds on a busy disk; copying one archive into each fresh cdk.out costs milliseconds.
# Relative to the working directory (the app's folder), since an installed library's own
# folder may be read-only.
CACHE_DIR = Path(".cache", "lambda-layers")
# Zip entries carry this time instead of the files' mtimes, so an archive is reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
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


def build_layer_archive(distributions: Sequence[metadata.Distribution], target: Path) -> None:
    """Write the layer (``python/<package>``) as a reproducible zip, atomically: parallel
    synths (pytest-xdist) never read half an archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    entries = sorted(
        (f"python/{relative.as_posix()}", source)
        for distribution in distributions
        for source, relative in _installed_files(distribution)
    )
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    os.replace(partial, target)


@jsii.implements(ILocalBundling)
class _CachedLayerArchive:
    """Local bundling: one zip in the output folder, which CDK uploads as it is. No Docker, no
    download; the zip is built from the installed packages once per asset hash."""

    def __init__(self, distributions: Sequence[metadata.Distribution], asset_hash: str) -> None:
        self._distributions = distributions
        self._name = f"powertools-{asset_hash}.zip"

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        cached = CACHE_DIR / self._name
        if not cached.exists():
            try:
                build_layer_archive(self._distributions, cached)
            except OSError:  # a read-only checkout: build straight into the output
                build_layer_archive(self._distributions, Path(output_dir) / self._name)
                return True
        shutil.copyfile(cached, Path(output_dir) / self._name)
        return True


class PowertoolsLayer(Construct):
    """``aws-lambda-powertools`` as installed where ``cdk synth`` runs, plus the pure-Python
    dependencies it imports that the Lambda runtime lacks (``typing_extensions``).

    The asset hash is derived from the distributions' names and versions, not from their
    files, so synth neither hashes megabytes nor changes the layer unless a version changes.
    The archive is built once per hash into ``.cache/lambda-layers/`` and copied into each
    ``cdk.out`` that lacks it. Install the version pinned in ``requirements.txt``: the layer
    ships whatever the synth environment has.

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
        asset_hash = hashlib.sha256(";".join([_LAYOUT_VERSION, *pins]).encode()).hexdigest()
        code = lambda_.Code.from_asset(
            # Never read (the hash is custom and bundling is local); only needs to exist.
            str(Path(str(distributions[0].locate_file(""))) / "aws_lambda_powertools"),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=asset_hash,
            bundling=BundlingOptions(
                # Required by the API, never pulled: local bundling always succeeds.
                image=DockerImage.from_registry("scratch"),
                local=_CachedLayerArchive(distributions, asset_hash),
            ),
        )
        self.layer_version = lambda_.LayerVersion(
            self,
            "Resource",
            code=code,
            compatible_runtimes=list(compatible_runtimes),
            description=", ".join(pins),
            removal_policy=removal_policy,
        )
