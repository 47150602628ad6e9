"""The uint8 dataset cache: each domain decoded once into a memory-mapped ``N x L x L x 3`` array.

An image is decoded as the JPEG loader decodes it (:func:`load_rgb`), its short side resized to ``load_size``
and, where the other side is longer (a non-square image), centre-cropped to ``load_size`` x ``load_size`` so
that every row has one shape (the JPEG loader would crop anywhere along the long side). Unreadable files are
left out and listed. The cache of a file list lives in ``<folder>/<key>.npy`` beside ``<key>.json`` (the file
list, the shape and a CRC-32 of the pixels); the key hashes the paths, file sizes and ``load_size``, so a
changed dataset gets a new cache. Both files are written atomically, the manifest last; a cache whose
manifest is missing, unreadable or disagrees with its array (a partial or corrupt file) is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from i2i_common.atomic import atomic_open, atomic_path
from i2i_common.images import ImageReadError

from .transforms import centre_crop, load_rgb, resize_short_side

CACHE_FORMAT = 1
_CRC_CHUNK = 1 << 24  # bytes per CRC-32 step: bounded memory however large the array


@dataclass(frozen=True)
class DomainCache:
    """One domain's cached images: ``images[i]`` (uint8 ``L x L x 3``, memory-mapped) is ``files[i]``;
    ``skipped`` are the files that could not be read when the cache was built."""

    images: np.ndarray
    files: tuple[str, ...]
    skipped: tuple[str, ...]


class _Stale(Exception):
    """The cache on disk is missing, partial or corrupt."""


def cache_key(files: Sequence[Path], load_size: int) -> str:
    """A hash of the file list (paths and sizes), ``load_size`` and the cache format."""
    digest = hashlib.sha256(f"i2i-train-cache {CACHE_FORMAT} {load_size}\n".encode())
    for path in files:
        digest.update(f"{Path(path).resolve()}\t{os.stat(path).st_size}\n".encode())
    return digest.hexdigest()[:32]


def _crc(array: np.ndarray) -> int:
    flat = array.reshape(-1)
    crc = 0
    for start in range(0, flat.size, _CRC_CHUNK):
        crc = zlib.crc32(flat[start:start + _CRC_CHUNK].tobytes(), crc)
    return crc


def cached_image(path: Path, load_size: int) -> np.ndarray:
    """One cache row: decoded, short side to ``load_size``, centre-cropped to a square."""
    return centre_crop(resize_short_side(load_rgb(path), load_size), load_size)


def _open(npy: Path, manifest: Path, load_size: int) -> DomainCache:
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        images = np.load(npy, mmap_mode="r")
    except (OSError, ValueError) as exc:  # missing, truncated header, bad JSON
        raise _Stale(str(exc)) from exc
    expected = [len(meta.get("files", ())), load_size, load_size, 3]
    if meta.get("format") != CACHE_FORMAT or list(images.shape) != expected or images.dtype != np.uint8:
        raise _Stale(f"shape {images.shape}, manifest expects {expected}")
    if _crc(images) != meta.get("crc32"):
        raise _Stale("pixels differ from the manifest's CRC-32")
    return DomainCache(images, tuple(meta["files"]), tuple(meta["skipped"]))


def _build(files: Sequence[Path], load_size: int, npy: Path, manifest: Path, threads: int) -> None:
    def read(path: Path) -> np.ndarray | None:
        try:
            return cached_image(path, load_size)
        except ImageReadError:
            return None

    with ThreadPoolExecutor(max(1, threads)) as pool:  # OpenCV decodes and resizes without the GIL
        rows = list(pool.map(read, files))
    kept = [(str(p), row) for p, row in zip(files, rows, strict=True) if row is not None]
    skipped = [str(p) for p, row in zip(files, rows, strict=True) if row is None]
    with atomic_path(npy) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(kept), load_size, load_size, 3))
        for i, (_, row) in enumerate(kept):
            array[i] = row
        array.flush()
        crc = _crc(array)
        del array
    meta = {"format": CACHE_FORMAT, "load_size": load_size, "crc32": crc,
            "files": [p for p, _ in kept], "skipped": skipped}
    with atomic_open(manifest, "w", encoding="utf-8") as handle:
        json.dump(meta, handle)


def domain_cache(files: Sequence[Path], load_size: int, folder: Path, threads: int = 1) -> DomainCache:
    """The cache of ``files`` at ``load_size`` in ``folder``: opened when valid, (re)built otherwise."""
    key = cache_key(files, load_size)
    npy, manifest = folder / f"{key}.npy", folder / f"{key}.json"
    try:
        return _open(npy, manifest, load_size)
    except _Stale as why:
        if npy.exists() or manifest.exists():
            print(f"data cache {npy.name}: rebuilding ({why})", file=sys.stderr)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"data cache: decoding {len(files)} images once into {npy}", file=sys.stderr)
    _build(files, load_size, npy, manifest, threads)
    try:
        return _open(npy, manifest, load_size)
    except _Stale as why:
        raise OSError(f"data cache {npy}: unreadable right after it was written ({why})") from None
