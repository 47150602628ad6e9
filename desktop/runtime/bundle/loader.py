"""Loading one bundle by path: a folder or a ``.i2i`` archive, its graphs optionally opened."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from . import cache
from .archive import _load_archive
from .files import _load_folder
from .model import ARCHIVE_SUFFIX, Bundle, BundleError
from .session_io import verify_graphs


def load_bundle(path: str | os.PathLike, *, check_graphs: bool = False) -> Bundle:
    """Load and validate a bundle folder or ``.i2i`` archive.

    Structure, roles, listed/extra files, checksums and array headers are always checked;
    ``check_graphs=True`` also opens every ONNX graph and compares its inputs and outputs with the
    manifest (the translators do this anyway when they create their sessions). A refused archive's
    extraction is deleted. Every failure is a :class:`BundleError`.
    """
    path = Path(path)
    try:
        if path.is_dir():
            bundle = _load_folder(path, path)
        elif path.is_file():
            if path.suffix.lower() != ARCHIVE_SUFFIX and not zipfile.is_zipfile(path):
                raise BundleError(f"{path}: not a bundle (expected a folder or a {ARCHIVE_SUFFIX} archive)")
            bundle = _load_archive(path)
        else:
            raise BundleError(f"{path}: no such bundle")
    except OSError as exc:  # unreadable files or folders (permissions, I/O errors)
        raise BundleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if check_graphs:
        try:
            verify_graphs(bundle)
        except BundleError:
            cache.discard(bundle.path)
            raise
    return bundle
