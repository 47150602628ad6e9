"""Write a model bundle (docs/bundle.md) as a folder or a ``.i2i`` archive. No torch needed.

The writer fills in every file's ``sha256`` and the self-test (``export.selftest_record``), builds the bundle
beside its destination, validates it with the app's own loader (graphs included) and only then moves it
into place, so a bundle that the app would refuse is never published.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop.runtime.bundle import MANIFEST, Bundle, BundleError, load_bundle, sha256_file
from i2i_common.atomic import atomic_path

from .selftest_record import add_self_test

FileSource = str | os.PathLike | bytes


def write_bundle(out: str | os.PathLike, manifest: Mapping[str, Any], files: Mapping[str, FileSource],
                 archive: bool = False, overwrite: bool = False) -> Bundle:
    """Write ``manifest`` and ``files`` (bundle file name -> source path or bytes) to ``out``.

    ``archive=True`` writes a single ``.i2i`` zip (``out`` should end in ``.i2i``), otherwise a folder.
    The manifest's ``graphs[*].sha256`` and ``arrays[*].sha256`` are computed here. Returns the
    validated bundle as loaded from ``out``; raises :class:`BundleError` if validation fails (nothing
    is written then) or ``out`` exists and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise BundleError(f"{out} already exists (pass overwrite=True to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        folder = work / "bundle"
        folder.mkdir()
        for name, source in files.items():
            if isinstance(source, bytes):
                (folder / name).write_bytes(source)
            else:
                shutil.copyfile(source, folder / name)
        final_manifest = copy.deepcopy(dict(manifest))
        for entry in [*final_manifest.get("graphs", []), *final_manifest.get("arrays", [])]:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str) and (folder / entry["file"]).is_file():
                entry["sha256"] = sha256_file(folder / entry["file"])
        (folder / MANIFEST).write_text(json.dumps(final_manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
        add_self_test(folder)
        load_bundle(folder, check_graphs=True)
        if archive and not out.is_dir():
            with atomic_path(out) as tmp:
                _zip_folder(folder, tmp)
        else:  # a folder, or an archive replacing a folder: rename cannot put a file over a folder
            _replace(_zip_folder(folder, work / "bundle.i2i") if archive else folder, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return load_bundle(out)


def _zip_folder(folder: Path, target: Path) -> Path:
    """Zip a bundle folder's files at the archive root. ONNX compresses poorly, so store it as is."""
    with zipfile.ZipFile(target, "w") as zf:
        for path in sorted(folder.iterdir()):
            method = zipfile.ZIP_STORED if path.suffix == ".onnx" else zipfile.ZIP_DEFLATED
            zf.write(path, arcname=path.name, compress_type=method)
    return target


def _replace(built: Path, out: Path) -> None:
    """Move ``built`` onto ``out``; an existing ``out`` is moved aside first (rename cannot replace a folder)."""
    if not out.exists():
        os.replace(built, out)
        return
    aside = built.parent / "previous"
    os.replace(out, aside)
    os.replace(built, out)
