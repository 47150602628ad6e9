"""A bundle folder on disk: the manifest, exactly the listed files, their checksums and ``.npy`` headers."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .manifest import parse_manifest
from .model import MANIFEST, ArraySpec, Bundle, BundleError, GraphSpec

# Files operating systems drop into folders on their own; a bundle folder may hold them.
IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check_files(folder: Path, where: str, graphs: list[GraphSpec], arrays: list[ArraySpec]) -> None:
    listed = {spec.file: spec for spec in [*graphs, *arrays]}
    present = {p.name for p in folder.iterdir()} - IGNORED_FILES - {MANIFEST}
    missing = sorted(set(listed) - present)
    if missing:
        raise BundleError(f"{where}: listed file {missing[0]} is missing")
    extra = sorted(present - set(listed))
    if extra:
        raise BundleError(f"{where}: file {extra[0]} is not listed in the manifest")
    for name, spec in listed.items():
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise BundleError(f"{where}: {name} is not a regular file")
        if sha256_file(path) != spec.sha256:
            raise BundleError(f"{where}: checksum mismatch for {name} (file changed or corrupt)")
    for spec in arrays:
        _check_array(folder / spec.file, spec, where)


def _check_array(path: Path, spec: ArraySpec, where: str) -> None:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise BundleError(f"{where}: {spec.file} is not a plain .npy array ({exc})") from None
    if tuple(arr.shape) != spec.shape or str(arr.dtype) != spec.dtype:
        raise BundleError(f"{where}: {spec.file} holds {arr.dtype}{list(arr.shape)}, "
                          f"the manifest says {spec.dtype}{list(spec.shape)}")


def _load_folder(folder: Path, source: Path) -> Bundle:
    where = str(source)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{where}: no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{where}: {MANIFEST} is not valid JSON ({exc})") from None
    fields = parse_manifest(manifest, where)
    _check_files(folder, where, fields["graphs"], fields["arrays"])
    return Bundle(path=folder, source=source, manifest=manifest, **fields)
