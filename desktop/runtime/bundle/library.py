"""Loading a bundle by path, and the model library: the model folders, listing, resolving and installing."""
from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, NamedTuple

from ..paths import shipped_models_dir, user_models_dir
from .archive import _load_archive
from .files import _load_folder
from .model import ARCHIVE_SUFFIX, MANIFEST, Bundle, BundleError
from .session_io import verify_graphs


def load_bundle(path: str | os.PathLike, *, check_graphs: bool = False) -> Bundle:
    """Load and validate a bundle folder or ``.i2i`` archive.

    Structure, roles, listed/extra files, checksums and array headers are always checked;
    ``check_graphs=True`` also opens every ONNX graph and compares its inputs and outputs with the
    manifest (the translators do this anyway when they create their sessions).
    """
    path = Path(path)
    if path.is_dir():
        bundle = _load_folder(path, path)
    elif path.is_file():
        if path.suffix.lower() != ARCHIVE_SUFFIX and not zipfile.is_zipfile(path):
            raise BundleError(f"{path}: not a bundle (expected a folder or a {ARCHIVE_SUFFIX} archive)")
        bundle = _load_archive(path)
    else:
        raise BundleError(f"{path}: no such bundle")
    if check_graphs:
        verify_graphs(bundle)
    return bundle


class BundleScan(NamedTuple):
    """What :func:`find_bundles` found: usable bundles, and one error message per broken path."""

    bundles: list[Bundle]
    errors: dict[Path, str]


def model_dirs() -> list[Path]:
    """Folders searched for bundles, lowest priority first."""
    return [shipped_models_dir(), user_models_dir()]


def find_bundles(dirs: Iterable[Path] | None = None) -> BundleScan:
    """Every bundle (folder or ``.i2i``) directly inside the model folders. A user bundle with the
    same name as a shipped one replaces it."""
    by_name: dict[str, Bundle] = {}
    errors: dict[Path, str] = {}
    for folder in model_dirs() if dirs is None else dirs:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.lower() == ARCHIVE_SUFFIX):
                continue
            try:
                bundle = load_bundle(entry)
            except BundleError as exc:
                errors[entry] = str(exc)
            except OSError as exc:
                errors[entry] = f"{entry}: cannot be read ({exc.strerror or exc})"
            else:
                by_name[bundle.name] = bundle
    return BundleScan(sorted(by_name.values(), key=lambda b: b.name), errors)


def resolve_bundle(name_or_path: str | os.PathLike) -> Bundle:
    """A bundle given by path (folder or ``.i2i``) or by name among :func:`find_bundles`."""
    path = Path(name_or_path)
    if path.exists():
        return load_bundle(path)
    scan = find_bundles()
    for bundle in scan.bundles:
        if bundle.name == str(name_or_path):
            return bundle
    known = ", ".join(b.name for b in scan.bundles) or "none installed"
    raise BundleError(f"no model named {str(name_or_path)!r} (available: {known})")


def install_bundle(src: str | os.PathLike, *, overwrite: bool = False) -> Bundle:
    """Validate a bundle (graphs included) and copy it, as a folder, into :func:`user_models_dir`.

    The copy is made beside the target and moved into place, so a failed install leaves nothing behind.
    """
    bundle = load_bundle(src, check_graphs=True)
    models = user_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    target = models / bundle.name
    if target.exists() and not overwrite:
        raise BundleError(f"a model named {bundle.name!r} is already installed at {target}")
    tmp = Path(tempfile.mkdtemp(prefix=f".install-{bundle.name}-", dir=models))
    try:
        for name in [MANIFEST, *(g.file for g in bundle.graphs), *(a.file for a in bundle.arrays)]:
            shutil.copyfile(bundle.path / name, tmp / name)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{bundle.name}-", dir=models))
            os.replace(target, old / "b")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_bundle(target)
