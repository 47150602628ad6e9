"""``.i2i`` archives: entry checks, extraction into the cache, loading the extracted folder."""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from ..paths import cache_dir
from .files import _CHUNK, _load_folder, sha256_file
from .model import MANIFEST, Bundle, BundleError

MAX_ARCHIVE_BYTES = 2 * 1024**3  # uncompressed size of a .i2i archive


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_archive(zf: zipfile.ZipFile, where: str) -> list[zipfile.ZipInfo]:
    total = 0
    infos = zf.infolist()
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
            raise BundleError(f"{where}: archive entry {name!r} would land outside the bundle folder")
        if "/" in name.rstrip("/") or "\\" in name or info.is_dir():
            raise BundleError(f"{where}: archive entry {name!r} is in a sub-folder (files belong at the root)")
        if _is_symlink(info):
            raise BundleError(f"{where}: archive entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise BundleError(f"{where}: archive entry {name!r} is encrypted")
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise BundleError(f"{where}: archive would unpack to {total / 1024**3:.1f} GiB (limit 2 GiB)")
    return infos


def _extract_archive(archive: Path, target: Path) -> None:
    """Extract a checked archive into a fresh ``target`` folder, counting the bytes really written."""
    where = str(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = _check_archive(zf, where)
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                written = 0
                for info in infos:
                    with zf.open(info) as src, open(tmp / info.filename, "xb") as dst:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            if written > MAX_ARCHIVE_BYTES:
                                raise BundleError(f"{where}: archive unpacks to more than 2 GiB")
                            dst.write(chunk)
                try:
                    os.replace(tmp, target)
                except OSError:
                    if not (target / MANIFEST).is_file():  # not a concurrent extraction of the same archive
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BundleError(f"{where}: not a readable .i2i archive ({exc})") from None
    except FileExistsError:
        raise BundleError(f"{where}: archive holds the same file twice") from None


def _load_archive(archive: Path) -> Bundle:
    """Extract into the cache (keyed by the archive's digest) unless a valid extraction is already there."""
    digest = sha256_file(archive)
    target = cache_dir() / "bundles" / digest[:32]
    if (target / MANIFEST).is_file():
        try:
            return _load_folder(target, archive)
        except BundleError:
            pass  # the cached copy was changed or damaged: extract again
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    _extract_archive(archive, target)
    return _load_folder(target, archive)
