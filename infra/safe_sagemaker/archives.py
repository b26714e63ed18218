"""Reproducible zip archives that constructs build at synth (no Docker, no CDK bundling), kept
in a cache by the digest of what goes in.

An asset staged from such a zip is a plain file asset: its hash is CDK's fingerprint of the
zip's bytes, so whatever the archive holds decides its S3 key, and a synth that skips bundling
stages the same zip under the same key.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

# Relative to the working directory (the app's folder): an installed library's own folder may
# be read-only. Git-ignored.
CACHE_DIR = Path(".cache", "safe-sagemaker")
# Where archives go when the working directory is read-only: a folder of this user's only, as
# what is cached there gets deployed.
FALLBACK_CACHE_DIR = Path(tempfile.gettempdir()) / f"safe-sagemaker-archives-{os.getuid()}"
# Bump when build_archive changes how it writes an archive (entry names, times, modes,
# compression): the cache is keyed by the entries, which such a change leaves alone.
_ARCHIVE_FORMAT = "3"
# Zip entries carry this time instead of the files' mtimes, so an archive is reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # ZipInfo.create_system: the same bytes whichever system builds the archive

Entries = Sequence[tuple[str, bytes]]


def build_archive(entries: Entries, target: Path, compression: int = zipfile.ZIP_DEFLATED) -> None:
    """Write ``entries`` (name in the archive, bytes) as a reproducible zip, atomically:
    parallel synths (pytest-xdist, containers sharing a folder) never read half an archive.
    ``compression``: ``ZIP_STORED`` keeps the bytes independent of the machine's zlib."""
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"an archive cannot hold an entry twice: {sorted(names)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file, zipfile.ZipFile(file, "w", compression) as archive:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.create_system = _UNIX
                info.external_attr = 0o644 << 16
                info.compress_type = compression
                archive.writestr(info, data)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def cached_archive(prefix: str, entries: Entries, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """The zip of ``entries`` (sorted by name first), built on first use and then taken from
    the cache, as ``<prefix>-<digest>.zip``. The digest covers every entry's name and bytes
    (and the compression), so an archive is reused only for the same entries, and only if it
    still holds them. Zipping a few hundred files costs seconds on a busy disk; reading them
    to key the cache costs a tenth of that."""
    entries = sorted(entries)
    digest = hashlib.sha256(_ARCHIVE_FORMAT.encode())
    if compression != zipfile.ZIP_DEFLATED:
        digest.update(f"\0compression {compression}".encode())
    for name, data in entries:
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    file_name = f"{prefix}-{digest.hexdigest()}.zip"
    for directory in (CACHE_DIR, FALLBACK_CACHE_DIR):
        cached = directory / file_name
        try:
            if directory == FALLBACK_CACHE_DIR:
                _private_folder(directory)
            if not (cached.exists() and _holds(cached, entries)):
                build_archive(entries, cached, compression)
        except OSError:  # a read-only checkout, a folder not ours: try the next one
            continue
        return cached
    raise OSError(f"cannot write the archive {file_name} to {CACHE_DIR} or {FALLBACK_CACHE_DIR}")


def _holds(archive: Path, entries: Entries) -> bool:
    """Whether ``archive`` holds exactly ``entries`` (by name, size and CRC): a cached archive
    damaged or replaced since it was built is built again."""
    try:
        with zipfile.ZipFile(archive) as existing:
            found = [(i.filename, i.file_size, i.CRC) for i in existing.infolist()]
    except (OSError, zipfile.BadZipFile):
        return False
    return found == [(name, len(data), zlib.crc32(data)) for name, data in entries]


def _private_folder(directory: Path) -> None:
    """Create ``directory`` for this user alone, or raise OSError if it is someone else's or
    others may write to it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = directory.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
        raise OSError(f"{directory} is not a folder of this user's")
    if status.st_mode & 0o022:
        raise OSError(f"{directory} is writable by other users")
