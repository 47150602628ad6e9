"""``.i2i`` archives: entry checks, extraction into the cache, loading the extracted folder.

Everything that can be checked before writing is: entry names and kinds, compression methods, sizes, and the
manifest (read from the archive) against the entry list, so an unlisted or oversized entry is never written.
A refused archive leaves nothing in the cache.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

from . import cache
from .files import _CHUNK, IGNORED_FILES, _load_folder, sha256_file
from .manifest import MAX_FILE_NAME, MAX_MANIFEST_BYTES, parse_manifest, read_manifest
from .model import MANIFEST, Bundle, BundleError

MAX_ARCHIVE_BYTES = 2 * 1024**3  # uncompressed size of a .i2i archive
COMPRESSION_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# Failures of a damaged archive while reading it (zlib.error: a corrupt deflate stream).
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_entry(info: zipfile.ZipInfo, where: str) -> None:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
        raise BundleError(f"{where}: archive entry {name!r} would land outside the bundle folder")
    if "/" in name.rstrip("/") or "\\" in name or info.is_dir():
        raise BundleError(f"{where}: archive entry {name!r} is in a sub-folder (files belong at the root)")
    if len(name) > MAX_FILE_NAME:
        raise BundleError(f"{where}: archive entry {name[:40]!r}... has a {len(name)}-character name "
                          f"(limit {MAX_FILE_NAME})")
    if _is_symlink(info):
        raise BundleError(f"{where}: archive entry {name!r} is a symbolic link")
    if info.flag_bits & 0x1:
        raise BundleError(f"{where}: archive entry {name!r} is encrypted")
    if info.compress_type not in COMPRESSION_METHODS:
        raise BundleError(f"{where}: archive entry {name!r} uses compression method {info.compress_type} "
                          f"(bundles use {' or '.join(COMPRESSION_METHODS.values())})")


def _check_archive(zf: zipfile.ZipFile, where: str) -> list[zipfile.ZipInfo]:
    """The entries to extract: checked one by one, then the manifest against them (nothing written yet)."""
    infos = zf.infolist()
    for info in infos:
        _check_entry(info, where)
    by_name = {info.filename: info for info in infos}
    if len(by_name) != len(infos):
        raise BundleError(f"{where}: archive holds the same file twice")
    total = sum(info.file_size for info in infos)
    if total > MAX_ARCHIVE_BYTES:
        raise BundleError(f"{where}: archive would unpack to {total / 1024**3:.1f} GiB (limit 2 GiB)")
    if MANIFEST not in by_name:
        raise BundleError(f"{where}: no {MANIFEST}")
    with zf.open(by_name[MANIFEST]) as f:
        fields = parse_manifest(read_manifest(f.read(MAX_MANIFEST_BYTES + 1), where), where)
    listed = [spec.file for spec in [*fields["graphs"], *fields["arrays"]]]
    missing = sorted(set(listed) - set(by_name))
    if missing:
        raise BundleError(f"{where}: listed file {missing[0]} is missing")
    extra = sorted(set(by_name) - set(listed) - IGNORED_FILES - {MANIFEST})
    if extra:
        raise BundleError(f"{where}: file {extra[0]} is not listed in the manifest")
    return [by_name[name] for name in [MANIFEST, *listed]]


def _extract_archive(archive: Path, target: Path) -> None:
    """Extract a checked archive into a fresh ``target`` folder, counting the bytes really written."""
    where = str(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = _check_archive(zf, where)
            tmp = Path(tempfile.mkdtemp(prefix=cache.TEMP_PREFIX, dir=target.parent))
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
    except _UNREADABLE as exc:
        raise BundleError(f"{where}: not a readable .i2i archive ({exc})") from None
    except OSError as exc:  # the cache's disk: full, read-only, ...
        raise BundleError(f"{where}: cannot be extracted into {target.parent} ({exc.strerror or exc})") from None


def _load_archive(archive: Path) -> Bundle:
    """Extract into the cache (keyed by the archive's digest) unless a valid extraction is already there."""
    digest = sha256_file(archive)
    target = cache.bundles_cache() / digest[:32]
    if (target / MANIFEST).is_file():
        try:
            bundle = _load_folder(target, archive)
        except BundleError:
            pass  # the cached copy was changed or damaged: extract again
        else:
            cache.touch(target)
            return bundle
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundleError(f"{archive}: no cache folder at {target.parent} ({exc.strerror or exc})") from None
    shutil.rmtree(target, ignore_errors=True)
    try:
        _extract_archive(archive, target)
        bundle = _load_folder(target, archive)
    except BundleError:
        cache.discard(target)
        raise
    cache.prune(current=target)
    return bundle
