"""Every asset's hash follows its content: a build that ships other bytes gets another S3 key, so
it can never be published under (and later hidden behind) the key of a good build.

The app's assembly is checked as a whole; the Powertools layer (an archive built at synth, as
the canary's code is) and ``code_from_folder`` are checked in small apps of their own (a second
synth of the whole app would cost seconds)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from aws_cdk import App, FileSystem, Stack

from safe_sagemaker import archives
from safe_sagemaker.constructs import powertools_layer
from safe_sagemaker.constructs.powertools_layer import PowertoolsLayer
from safe_sagemaker.constructs.python_function import code_from_folder
from tests.conftest import Synthesized

# What the CDK CLI gives the app for commands that do not deploy (cdk bootstrap, ls, destroy)
# and for the stacks that `cdk deploy -e` leaves out: skip every asset's bundling.
SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}


def staged_assets(outdir: Path) -> dict[str, Path]:
    """Hash -> staged path of every file asset in an assembly's asset manifests."""
    assets = {}
    for manifest in outdir.glob("*.assets.json"):
        for asset_hash, asset in json.loads(manifest.read_text())["files"].items():
            assets[asset_hash] = outdir / asset["source"]["path"]
    return assets


def test_every_asset_hash_is_the_fingerprint_of_what_is_staged(
    synthesized: Synthesized,
) -> None:
    """Templates are keyed by the SHA-256 of their text, code by CDK's fingerprint of the file
    or folder that is uploaded; a custom hash (from versions, names, settings) would differ."""
    assets = staged_assets(synthesized.outdir)
    assert len(assets) > 2
    for asset_hash, path in assets.items():
        assert path.parent == synthesized.outdir, f"{path} was not staged into the assembly"
        if path.name.endswith(".template.json"):
            assert hashlib.sha256(path.read_bytes()).hexdigest() == asset_hash, path.name
        else:
            assert FileSystem.fingerprint(str(path)) == asset_hash, path.name


def layer_asset(outdir: Path, **context: object) -> tuple[str, Path]:
    """(hash, staged path) of a PowertoolsLayer synthesized alone into ``outdir``."""
    app = App(outdir=str(outdir), context=dict(context))
    PowertoolsLayer(Stack(app, "Layer"), "Powertools")
    app.synth()
    ((asset_hash, path),) = [
        (h, p) for h, p in staged_assets(outdir).items() if not p.name.endswith(".json")
    ]
    return asset_hash, path


@pytest.fixture(scope="module")
def bundled_layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return layer_asset(tmp_path_factory.mktemp("bundled"))


def test_a_synth_that_skips_bundling_stages_the_same_zip_under_the_same_key(
    bundled_layer: tuple[str, Path], tmp_path: Path
) -> None:
    """With CDK bundling and a custom hash, such a synth staged raw site-packages under the
    bundled build's key, and a deploy from it published them there."""
    skipped_hash, skipped = layer_asset(tmp_path, **SKIP_BUNDLING)
    bundled_hash, bundled = bundled_layer
    assert skipped_hash == bundled_hash
    assert skipped.is_file() and skipped.parent == tmp_path
    assert skipped.read_bytes() == bundled.read_bytes()
    assert "python/aws_lambda_powertools/__init__.py" in zipfile.ZipFile(skipped).namelist()


def test_other_layer_contents_get_another_key(
    bundled_layer: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same Powertools version without typing_extensions is another build: another key."""
    monkeypatch.setattr(
        powertools_layer,
        "layer_distributions",
        lambda: [metadata.distribution(powertools_layer.DISTRIBUTION)],
    )
    other_hash, other = layer_asset(tmp_path)
    assert other_hash != bundled_layer[0]
    assert "python/typing_extensions.py" not in zipfile.ZipFile(other).namelist()


def test_a_damaged_archive_in_the_cache_is_built_again(
    bundled_layer: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is keyed by the files that go in; an archive damaged or replaced in the cache
    since then (say, by a build that shipped other files) is not used: it is built again."""
    monkeypatch.setattr(archives, "CACHE_DIR", tmp_path / "cache")
    first_hash, _ = layer_asset(tmp_path / "first")
    assert first_hash == bundled_layer[0]  # a fresh build reproduces the cached one exactly
    (cached,) = (tmp_path / "cache").iterdir()
    with zipfile.ZipFile(cached, "w") as archive:  # what an unbundled build would hold
        archive.writestr("aws_lambda_powertools/__init__.py", "")
    second_hash, staged = layer_asset(tmp_path / "second")
    assert second_hash == first_hash
    assert "python/typing_extensions.py" in zipfile.ZipFile(staged).namelist()


def test_an_archive_names_each_entry_once_and_builds_in_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="entry twice"):
        archives.build_archive([("a", b"1"), ("a", b"2")], tmp_path / "twice.zip")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # as a folder others may write to would be
    monkeypatch.setattr(archives, "CACHE_DIR", tmp_path / "blocked" / "cache")
    (tmp_path / "blocked").write_text("")  # a file where the cache folder would go
    monkeypatch.setattr(archives, "FALLBACK_CACHE_DIR", shared)
    with pytest.raises(OSError, match="cannot write the archive"):
        archives.cached_archive("x", [("a", b"1")])
    monkeypatch.setattr(archives, "FALLBACK_CACHE_DIR", tmp_path / "private")
    built = archives.cached_archive("x", [("a", b"1")])
    assert built.parent == tmp_path / "private"
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in built.parent.iterdir()) == [built.name]  # no partial left


def test_a_read_only_checkout_builds_the_same_archive_elsewhere(
    bundled_layer: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "read-only"
    blocker.write_text("")  # a file where the cache folder would go: creating it fails
    monkeypatch.setattr(archives, "CACHE_DIR", blocker / "safe-sagemaker")
    monkeypatch.setattr(archives, "FALLBACK_CACHE_DIR", tmp_path / "fallback")
    archive = powertools_layer.layer_archive(powertools_layer.layer_distributions())
    assert archive.parent == tmp_path / "fallback"
    assert archive.read_bytes() == bundled_layer[1].read_bytes()


def folder_asset_key(app_dir: Path, folder: Path) -> str:
    stack = Stack(App(outdir=str(app_dir)), "Code")
    location = code_from_folder(folder).bind(stack).s3_location
    assert location is not None
    return location.object_key


def test_function_folder_keys_follow_the_code_and_ignore_caches(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        (folder / "pkg").mkdir(parents=True)
        (folder / "handler.py").write_text("def handler(event, context):\n    return 1\n")
        (folder / "pkg" / "logic.py").write_text("LIMIT = 1\n")
    # Caches and notes never reach the asset, so they cannot change its key.
    (second / "pkg" / "__pycache__").mkdir()
    (second / "pkg" / "__pycache__" / "logic.cpython-311.pyc").write_bytes(b"\x00")
    (second / "README.md").write_text("notes\n")
    key = folder_asset_key(tmp_path / "out-first", first)
    assert folder_asset_key(tmp_path / "out-second", second) == key
    (second / "pkg" / "logic.py").write_text("LIMIT = 2\n")
    assert folder_asset_key(tmp_path / "out-changed", second) != key


@pytest.mark.parametrize("folder", ["frontend", "pre_traffic_hook", "post_traffic_hook"])
def test_a_function_asset_holds_every_module_of_its_folder(
    synthesized: Synthesized, folder: str
) -> None:
    """The handlers import their own packages (``pre_traffic``, ``post_traffic``,
    ``sagemaker_frontend``), which Lambda finds only if the asset carries them."""
    source = Path(__file__).resolve().parents[2] / "lambdas" / folder

    def modules(root: Path) -> set[Path]:
        return {p.relative_to(root) for p in root.rglob("*.py") if "__pycache__" not in p.parts}

    expected = modules(source)
    assert Path("handler.py") in expected and len(expected) > 1
    staged = [p for p in staged_assets(synthesized.outdir).values() if p.is_dir()]
    assert [p for p in staged if modules(p) == expected], f"no asset holds {sorted(expected)}"
