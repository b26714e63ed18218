"""Reproducible zip archives that constructs build at synth (no Docker, no CDK bundling), kept
in a cache by the digest of what goes in.

An asset staged from such a zip is a plain file asset: its hash is CDK's fingerprint of the
zip's bytes, so whatever the archive holds decides its S3 key, and a synth that skips bundling
stages the same zip under the same key.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

# Relative to the working directory (the app's folder): an installed library's own folder may
# be read-only. Git-ignored.
CACHE_DIR = Path(".cache", "safe-sagemaker")
# Where archives go when the working directory is read-only.
FALLBACK_CACHE_DIR = Path(tempfile.gettempdir()) / "safe-sagemaker-archives"
# Bump when build_archive changes how it writes an archive (entry names, times, modes,
# compression): the cache is keyed by the entries, which such a change leaves alone.
_ARCHIVE_FORMAT = "3"
# Zip entries carry this time instead of the files' mtimes, so an archive is reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

Entries = Sequence[tuple[str, bytes]]


def build_archive(entries: Entries, target: Path) -> None:
    """Write ``entries`` (name in the archive, bytes) as a reproducible zip, atomically:
    parallel synths (pytest-xdist) never read half an archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(partial, target)


def cached_archive(prefix: str, entries: Entries) -> Path:
    """The zip of ``entries`` (sorted by name first), built on first use and then taken from
    the cache, as ``<prefix>-<digest>.zip``. The digest covers every entry's name and bytes, so
    an archive is reused only for the same entries. Zipping a few hundred files costs seconds
    on a busy disk; reading them to key the cache costs a tenth of that."""
    entries = sorted(entries)
    digest = hashlib.sha256(_ARCHIVE_FORMAT.encode())
    for name, data in entries:
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    file_name = f"{prefix}-{digest.hexdigest()}.zip"
    for directory in (CACHE_DIR, FALLBACK_CACHE_DIR):
        cached = directory / file_name
        if cached.exists():
            return cached
        try:
            build_archive(entries, cached)
        except OSError:  # a read-only checkout: try the next directory
            continue
        return cached
    raise OSError(f"cannot write the archive {file_name} to {CACHE_DIR} or {FALLBACK_CACHE_DIR}")
