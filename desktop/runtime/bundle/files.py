"""A bundle folder on disk: the manifest, exactly the listed files, their checksums and ``.npy`` headers."""
from __future__ import annotations

import hashlib
import tokenize
from pathlib import Path

import numpy as np

from .manifest import MAX_MANIFEST_BYTES, parse_manifest, read_manifest
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
    listed: dict[str, GraphSpec | ArraySpec] = {g.file: g for g in graphs} | {a.file: a for a in arrays}
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
    """Read only the ``.npy`` header: a plain dtype, the manifest's shape and dtype, and exactly the bytes they
    need (a truncated or padded file, or a header declaring a huge shape, is refused before any allocation)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version} is not 1.0 or 2.0")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(f)
            data_offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as exc:  # numpy parses the header
        raise BundleError(f"{where}: {spec.file} is not a plain .npy array ({exc})") from None
    if dtype.hasobject:
        raise BundleError(f"{where}: {spec.file} is not a plain .npy array (it holds Python objects)")
    if tuple(shape) != spec.shape or str(dtype) != spec.dtype:
        raise BundleError(f"{where}: {spec.file} holds {dtype}{list(shape)}, "
                          f"the manifest says {spec.dtype}{list(spec.shape)}")
    expected = data_offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = path.stat().st_size
    if actual != expected:
        raise BundleError(f"{where}: {spec.file} is {actual} bytes, its header needs {expected} "
                          "(truncated or padded)")


def _load_folder(folder: Path, source: Path) -> Bundle:
    where = str(source)
    manifest_path = folder / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise BundleError(f"{where}: no {MANIFEST}")
    with open(manifest_path, "rb") as f:
        manifest = read_manifest(f.read(MAX_MANIFEST_BYTES + 1), where)
    fields = parse_manifest(manifest, where)
    _check_files(folder, where, fields["graphs"], fields["arrays"])
    return Bundle(path=folder, source=source, manifest=manifest, **fields)
